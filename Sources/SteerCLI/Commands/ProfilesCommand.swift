import Experiments
import Foundation
import ModelFormats

/// `steer profiles --criterion 'nationality == Canadian' --out FILE.jsonl`: synthetic loan profiles with twins (SPEC §5).
enum ProfilesCommand: Command {
    struct Settings: Codable, Sendable {
        var criterion: String
        var pairs: Int
        var seed: UInt64
        var positive: String
        var negative: String
    }

    static let spec = CommandSpec(
        name: "profiles", summary: "generate synthetic loan profiles, each with a twin differing only in the criterion",
        options: [
            OptionSpec("--criterion", value: "EXPR", help: "label rule, e.g. 'nationality == Canadian', 'net_income > 0', 'age > 40'", required: true),
            OptionSpec("--n", value: "N", help: "profile pairs (default 100; the file has 2N rows)"),
            OptionSpec("--seed", value: "S", help: "random seed (default 0)"),
            OptionSpec("--answers", value: "YES,NO", help: "labels when the criterion holds / fails (default approve,reject)"),
            OptionSpec("--out", value: "FILE", help: "profiles JSONL (next to it: .config.json)", required: true),
        ],
        discussion: """
        Attributes: age (21–70), income and expenses (monthly, 1000–9900 in hundreds, never equal), net_income
        (= income − expenses), gender, education, occupation, nationality. Criteria: ATTRIBUTE OP VALUE with OP one of
        ==, != (any attribute) or <, <=, >, >= (numeric). A twin changes only the criterion's attribute (for net_income:
        the expenses) so that the criterion flips. Each line: {id, pair, variant (original|twin), twin_of, prompt,
        template, attributes, criterion, criterion_value, label}.
        """)

    static func run(_ args: ParsedArguments, _ out: Console) throws {
        guard let expr = args.string("--criterion") else { throw UsageError("give the label rule with --criterion EXPR") }
        guard let outPath = args.string("--out") else { throw UsageError("give the output file with --out FILE.jsonl") }
        let criterion: LoanCriterion
        do { criterion = try LoanCriterion(parsing: expr) } catch { throw UsageError("--criterion: \(error)") }
        let pairs = try args.int("--n", default: 100, range: 1...1_000_000)
        let seed = UInt64(try args.int("--seed", default: 0, range: 0...Int.max))
        var positive = "approve", negative = "reject"
        if let a = args.string("--answers") {
            let parts = a.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, parts[0] != parts[1] else {
                throw UsageError("--answers needs two different labels, e.g. approve,reject")
            }
            positive = parts[0]; negative = parts[1]
        }
        let rows = try ProfileGenerator(criterion: criterion, positive: positive, negative: negative).generate(pairs: pairs, seed: seed)
        let url = URL(fileURLWithPath: outPath)
        try ReasoningOutputs.writeLines(rows, to: url)
        let settings = Settings(criterion: criterion.description, pairs: pairs, seed: seed, positive: positive, negative: negative)
        let config = ReasoningRunConfig(version: SteerCLI.version, command: ReasoningOptions.commandLine(spec.name, args),
                                        settings: settings, inputs: [])
        try ReasoningOutputs.writeJSON(config, to: URL(fileURLWithPath: url.deletingPathExtension().path + ".config.json"))
        let holds = rows.filter(\.criterionValue).count
        out.print("\(rows.count) profiles (\(pairs) pairs) for '\(criterion)': \(holds) meet it, \(rows.count - holds) do not")
        out.info("wrote \(url.path)")
    }
}
