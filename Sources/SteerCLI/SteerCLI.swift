import Foundation

/// Entry point of the `steer` executable.
public enum SteerCLI {
    public static func main(_ args: [String]) -> Int32 { 0 }
}
