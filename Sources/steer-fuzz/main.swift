// steer-fuzz: the fuzzing harness (scripts/fuzz.sh builds and runs it). Not part of `steer`.
import FuzzKit
import Foundation

exit(FuzzCommand.main(Array(CommandLine.arguments.dropFirst())))
