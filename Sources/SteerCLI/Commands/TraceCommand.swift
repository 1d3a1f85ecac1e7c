import Experiments
import Foundation
import ModelFormats
import Models

/// `steer trace DIR --rollouts R.jsonl --out DIR2`: forced-prefix trace mediation (SPEC §4).
enum TraceCommand: Command {
    static let spec = CommandSpec(
        name: "trace", summary: "re-run rollouts with frozen or truncated reasoning: is the trace a cache?",
        positionals: [("DIR", "Hugging Face chat model folder (the one that wrote the rollouts)")],
        options: [
            OptionSpec("--rollouts", value: "FILE", help: "rollouts JSONL from 'steer rollouts'"),
            OptionSpec("--counterfactual", value: "FILE", help: "prompt P′ per rollout (twin_of/id naming the rollout, or same order)"),
            OptionSpec("--conditions", value: "LIST", help: "control,frozen-closed,frozen-open,truncated,logit (default all)"),
            OptionSpec("--fractions", value: "LIST", help: "preserved fractions for truncated (default 0,0.1,…,1)"),
            OptionSpec("--cut", value: "tokens|sentences", help: "unit a truncated prefix keeps ⌊f·|R|⌋ of (default tokens)"),
            OptionSpec("--limit", value: "N", help: "use the first N rollouts"),
            OptionSpec("--system", value: "TEXT", help: "system prompt for rows without their own (use the rollouts' one)"),
            OptionSpec("--max-new-tokens", value: "N", help: "new tokens when the model may reason (default 256)"),
            OptionSpec("--answer-tokens", value: "N", help: "new tokens for frozen-closed (default 16)"),
            OptionSpec("--batch-size", value: "N", help: "rows per batch (default 16)"),
            OptionSpec("--out", value: "DIR", help: "folder for rows.jsonl, summary.json, curve.svg, report.html, config.json"),
            OptionSpec("--weights", value: "f32|bf16", help: "weight storage (default f32)"),
            ThreadOption.spec,
            BackendOption.spec,
        ] + ReasoningOptions.format,
        discussion: """
        Forced prefixes are raw continuation after the rendered chat prompt (the template is not re-applied), cut
        from the rollout's own token ids at token boundaries, never re-tokenized from text: frozen-closed = the
        reply up to the last token boundary at or before the answer value; frozen-open = up to the last boundary
        at or before </R>; truncated(f) = the opening tag's tokens + the first ⌊f·|R|⌋ tokens of R (or up to the
        boundary at or before the end of its ⌊f·S⌋-th sentence); logit = frozen-closed scored by the answers'
        first-token probabilities; control = the prompt alone. rows.jsonl records the forced ids and where each cut
        fell. Rollouts without a reasoning span or an answer are skipped (counted in summary.json); rollouts without
        token ids (older files) are re-tokenized whole, with a warning. Finished batches are checkpointed in
        DIR2/cache: the same command run again after an interruption resumes and writes the same files.
        """)

    static func run(_ args: ParsedArguments, _ out: Console) throws {
        let dir = try ModelDirectory.url(args.positional(0))
        _ = try ThreadOption.apply(args)
        guard let rolloutsURL = try ReasoningOptions.inputFile(args, "--rollouts") else { return }
        let cfURL = try ReasoningOptions.inputFile(args, "--counterfactual", required: false)
        guard let outPath = args.string("--out") else { throw UsageError("give an output folder with --out DIR") }
        var settings = TraceSettings()
        settings.format = try ReasoningOptions.traceFormat(args)
        if let c = args.string("--conditions") {
            do { settings.conditions = try TraceCondition.list(c) } catch { throw UsageError("--conditions: \(error)") }
        }
        if let f = try ReasoningOptions.fractions(args) { settings.fractions = f }
        settings.cut = TraceCut(rawValue: try args.choice("--cut", ["tokens", "sentences"], default: "tokens")) ?? .tokens
        settings.maxNewTokens = try args.int("--max-new-tokens", default: 256, range: 1...1_000_000)
        settings.answerTokens = try args.int("--answer-tokens", default: 16, range: 1...10_000)
        settings.batchSize = try args.int("--batch-size", default: 16, range: 1...4096)
        settings.system = args.string("--system")

        var rollouts = try RolloutRecord.readAll(rolloutsURL).map(\.record)
        if let limit = try args.int("--limit") { guard limit > 0 else { throw UsageError("--limit must be positive") }; rollouts = Array(rollouts.prefix(limit)) }
        let usable = rollouts.filter { $0.reasoning != nil && $0.answer != nil }.count
        guard usable > 0 else {
            throw ReasoningError.noUsableRollouts(path: rolloutsURL.path,
                                                  detail: "none of \(rollouts.count) has a <\(settings.format.reasoningTag)> span and an allowed answer; check --tags/--answers")
        }
        let counterfactual = try cfURL.map { try TraceMediation.match(rollouts, counterfactual: try ReasoningPrompt.load($0)) }
        let folder = try ReasoningOptions.outputFolder(outPath, notInside: [dir], inputs: [rolloutsURL] + (cfURL.map { [$0] } ?? []))
        let formatter = try ReasoningOptions.formatter(dir)
        let model = try ModelLoader.load(directory: dir, precision: try GenerateCommand.precision(args),
                                         backend: try BackendOption.backend(args))
        var inputs = [try InputFile(role: "rollouts", path: rolloutsURL.path)]
        if let cfURL { inputs.append(try InputFile(role: "counterfactual", path: cfURL.path)) }
        let modelHash = try ReasoningOptions.modelHash(dir, cacheFolder: folder.appendingPathComponent("cache"))
        let config = ReasoningRunConfig(version: SteerCLI.version, command: ReasoningOptions.commandLine(spec.name, args),
                                        settings: settings, inputs: inputs, model: dir.path, modelSHA256: modelHash)
        out.info("trace: \(usable) of \(rollouts.count) rollouts usable; conditions \(settings.conditions.map(\.rawValue).joined(separator: ","))")
        let untokenized = rollouts.filter { $0.tokens == nil && $0.reasoning != nil && $0.answer != nil }.count
        if untokenized > 0 {
            out.info("warning: \(untokenized) usable rollouts in \(rolloutsURL.path) carry no token ids (written by an older steer); "
                     + "their completions are re-tokenized whole, which may differ from the tokens the model generated "
                     + "(rows say \"retokenized\": true). Rerun 'steer rollouts' for token-exact prefixes.")
        }
        let checkpoint = try GenerationCheckpoint(folder: folder, modelHash: modelHash)
        let printer = ProgressPrinter(console: out)
        let rows = try TraceMediation(model: model, formatter: formatter, settings: settings)
            .run(rollouts, counterfactual: counterfactual, checkpoint: checkpoint) { printer.update($0, $1, $2) }
        printer.finish()
        let summary = try TraceSummary(rows: rows, rollouts: rollouts.count, usableRollouts: usable)
        try ReasoningOutputs.writeTrace(folder: folder, rows: rows, summary: summary, config: config)
        for name in summary.orderedConditionNames {
            guard let c = summary.conditions[name] else { continue }
            out.print(name.padding(toLength: 26, withPad: " ", startingAt: 0)
                      + String(format: "consistency %5.1f%% [%5.1f, %5.1f]  invalid %5.1f%%  n=%d",
                               c.consistency * 100, c.ciLow * 100, c.ciHigh * 100, c.invalidRate * 100, c.n))
        }
        if let a = summary.curveArea { out.print(String(format: "curve area %.3f", a)) }
        out.print("f at 50%: " + (summary.fractionAt50.map { String(format: "%.3f", $0) } ?? "never"))
        if let a = summary.logitAgreement { out.print(String(format: "logit = sampled frozen-closed: %.1f%%", a * 100)) }
        out.info("wrote \(folder.path)/{rows.jsonl,summary.json,curve.svg,report.html,config.json}")
    }
}
