import Foundation

/// Queries of one context computed together by `CPUAttention`: which query rows, the key slots they
/// can see as columns of one score matrix, and each query's visible columns.
///
/// Tiles follow from the layout and the attention shape alone (never from the thread count), so
/// every query's arithmetic is the same however the tiles are spread over threads.
struct AttentionTile {
    /// A run of consecutive key slots holding consecutive positions, at `column` of the score matrix.
    struct Segment {
        var slot: Int
        var position: Int
        var count: Int
        var column: Int
    }

    /// Indices into the `queries` list, ascending by position.
    var members: [Int] = []
    /// The slots any member sees, clipped to the members' positions (and windows), in position order.
    var segments: [Segment] = []
    /// Per member: the score columns it sees (a contiguous range, since columns ascend by position).
    var visible: [Range<Int>] = []
    /// Columns of the score matrix.
    var keys = 0

    var count: Int { members.count }
    var cost: Int { count * max(1, keys) }

    /// Query heads stacked in one tile's product: enough rows for `sgemm` to run near its peak.
    static let stackedRows = 256
    /// At most this many scores per tile and KV head (floats of per-thread scratch).
    static let scoreBudget = 1 << 22

    /// The tiles of `queries`: per context, its queries in position order, cut into runs of at most
    /// `stackedRows / group` queries whose score matrix fits `scoreBudget`.
    static func tiles(queries: [Int], layout: SequenceLayout, spec s: AttentionSpec) -> [AttentionTile] {
        let group = s.heads / max(1, s.kvHeads)
        let most = max(1, stackedRows / max(1, group))
        var byContext: [Int: [Int]] = [:], order: [Int] = []
        for (i, row) in queries.enumerated() {
            let c = layout.contextOfRow[row]
            if byContext[c] == nil { order.append(c) }
            byContext[c, default: []].append(i)
        }
        var tiles: [AttentionTile] = []
        for c in order {
            let members = (byContext[c] ?? []).sorted {
                (layout.positions[queries[$0]], $0) < (layout.positions[queries[$1]], $1)
            }
            let runs = layout.contexts[c]
            let span = runs.reduce(0) { $0 + $1.count }
            let size = max(1, min(most, scoreBudget / max(1, group * span)))
            var start = 0
            while start < members.count {
                let part = Array(members[start..<min(members.count, start + size)])
                tiles.append(tile(part, positions: part.map { layout.positions[queries[$0]] }, runs: runs, window: s.window))
                start += size
            }
        }
        return tiles
    }

    /// One tile: the runs clipped to the members' hull, and each member's visible columns.
    static func tile(_ members: [Int], positions: [Int], runs: [KVRun], window: Int?) -> AttentionTile {
        var t = AttentionTile()
        t.members = members
        let lows = positions.map { p in window.map { p - $0 + 1 } ?? Int.min }
        let lo = lows.min() ?? 0, hi = positions.max() ?? -1
        for r in runs {
            let first = max(r.position, lo), last = min(r.position + r.count - 1, hi)
            guard first <= last else { continue }
            t.segments.append(Segment(slot: r.slot + first - r.position, position: first, count: last - first + 1, column: t.keys))
            t.keys += last - first + 1
        }
        t.visible = zip(positions, lows).map { p, low in
            var lower = Int.max, upper = 0
            for seg in t.segments {
                let a = max(seg.position, low), b = min(seg.position + seg.count - 1, p)
                if a <= b {
                    lower = min(lower, seg.column + a - seg.position)
                    upper = max(upper, seg.column + b - seg.position + 1)
                }
            }
            return lower <= upper ? lower..<upper : 0..<0
        }
        return t
    }
}
