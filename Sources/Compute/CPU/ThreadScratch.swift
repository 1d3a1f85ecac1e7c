import Foundation

/// Scratch space per thread, grown on demand and kept for the thread's life: the pool's workers
/// widen 16-bit weight blocks and build attention tiles in it without allocating on every call.
/// One buffer per thread: a caller must be done with it before anything it calls asks again.
enum ThreadScratch {
    /// At least `count` floats (64-byte aligned, contents unspecified) owned by the calling thread.
    static func floats(_ count: Int) -> UnsafeMutablePointer<Float> {
        var size = max(count, 1 << 14)
        if let p = pthread_getspecific(key) {
            let old = Unmanaged<FloatBuffer>.fromOpaque(p)
            if old.takeUnretainedValue().count >= count { return old.takeUnretainedValue().pointer }
            // Grow by at least half again, so a slowly growing request does not reallocate every time.
            size = max(size, old.takeUnretainedValue().count * 3 / 2)
            old.release()
        }
        let buffer = FloatBuffer(uninitializedCount: size)
        pthread_setspecific(key, Unmanaged.passRetained(buffer).toOpaque())
        return buffer.pointer
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { p in
            if let p { Unmanaged<FloatBuffer>.fromOpaque(p).release() }
        }
        return key
    }()
}
