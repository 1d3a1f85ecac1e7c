import Foundation
import SteerCLI

exit(SteerCLI.main(Array(CommandLine.arguments.dropFirst())))
