import Foundation
import SteerCLI

BLASTuning.reexecIfUseful(arguments: CommandLine.arguments)
exit(SteerCLI.main(Array(CommandLine.arguments.dropFirst())))
