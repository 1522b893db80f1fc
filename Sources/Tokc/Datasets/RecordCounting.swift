import Dispatch

/// What a record of a dataset is and which of its text counts.
public enum RecordFormat: Sendable {
    /// JSON Lines: one JSON value a line; the strings `path` reaches count.
    case jsonLines(FieldPath)
    /// CSV (separator `,`) or TSV (`\t`) with a header line; the column of that name counts.
    case delimited(column: String, separator: UInt8)
}

/// One record, as `RecordCounter` reports it in order: its line (where it starts) and its tokens per tokenizer,
/// or why it was skipped (`skipBad`).
public enum RecordOutcome {
    case counted(line: Int, tokens: ArraySlice<Int>)
    case skipped(line: Int, reason: String)
}

/// What the records of one input gave.
public struct RecordTotals: Sendable {
    /// The input's bytes (after gzip), and the bytes of the texts counted.
    public var bytes = 0
    public var textBytes = 0
    /// Per tokenizer, tokens per record.
    public var distributions: [TokenDistribution]
    /// Records skipped as bad (`skipBad`), and the lines of the first 100 of them.
    public var skipped = 0
    public var skippedLines: [Int] = []
}

/// Counts the text of each record of a JSON Lines, CSV or TSV input, alone (a record's count is the count of its
/// text, or the sum over the strings its path reaches), with one or more tokenizers, in bounded memory: a window
/// of whole records at a time (16 MiB by default, grown only for a longer record), spread over all threads. A
/// UTF-8 byte order mark at the start is skipped. A record that cannot be read is an error naming its line,
/// or, with `skipBad`, reported and left out of the counts.
public struct RecordCounter: Sendable {
    public let tokenizers: [Tokenizer]
    public let allowedSpecial: SpecialTokenPolicy
    public let threads: Int
    public let format: RecordFormat
    public let skipBad: Bool
    public let windowBytes: Int

    public init(
        tokenizers: [Tokenizer], format: RecordFormat, allowedSpecial: SpecialTokenPolicy = .none, threads: Int,
        skipBad: Bool = false, windowBytes: Int = 16 << 20
    ) {
        self.tokenizers = tokenizers
        self.format = format
        self.allowedSpecial = allowedSpecial
        self.threads = Swift.max(1, threads)
        self.skipBad = skipBad
        self.windowBytes = Swift.max(1, windowBytes)
    }

    /// Counts every record of `stream`. `each`, when given, sees every record in order; `progress` the bytes
    /// read so far after each window.
    public func count(
        _ stream: ByteStream, each: ((RecordOutcome) throws -> Void)? = nil, progress: (Int) -> Void = { _ in }
    ) throws -> RecordTotals {
        var totals = RecordTotals(distributions: .init(repeating: TokenDistribution(), count: tokenizers.count))
        var window = WindowBuffer(capacity: windowBytes)
        defer { window.deallocate() }
        var state = DelimitedState()
        var line = 1  // the line the window starts on
        var atStart = true
        var atEnd = false
        while !atEnd {
            atEnd = try window.fill(from: stream)
            var text = window.text
            var skippedBOM = 0
            if atStart {
                if text.count < 3 && !atEnd { continue }
                if text.starts(with: [0xEF, 0xBB, 0xBF]) { skippedBOM = 3; text = UnsafeBufferPointer(rebasing: text[3...]) }
            }
            let (consumed, parts) = switch format {
            case let .jsonLines(path): countJSONLines(text, atEnd: atEnd, path: path)
            case let .delimited(column, separator):
                try countDelimited(text, atEnd: atEnd, line: line, column: column, records: DelimitedRecords(separator: separator), state: &state, source: stream.name)
            }
            if consumed == 0 && !atEnd { continue }
            atStart = false
            for part in parts {
                try merge(part, firstLine: part.relative ? line : 0, into: &totals, stream: stream, each: each)
                if part.relative { line += part.lineBreaks }
            }
            if case .delimited = format { line += Self.lineBreaks(in: UnsafeBufferPointer(rebasing: text[..<consumed])) }
            totals.bytes += consumed + skippedBOM
            window.drop(consumed + skippedBOM)
            progress(totals.bytes)
        }
        if case .delimited = format, state.header == nil {
            throw TokcError.malformedInput(source: stream.name, line: 1, expected: "a header line naming the columns (the input has none)")
        }
        return totals
    }

    /// Adds one part's records to the totals, in order, and hands them to `each`.
    private func merge(
        _ part: PartResult, firstLine: Int, into totals: inout RecordTotals, stream: ByteStream,
        each: ((RecordOutcome) throws -> Void)?
    ) throws {
        let width = tokenizers.count
        for record in 0..<part.lines.count {
            let line = firstLine + part.lines[record]
            if let reason = part.bad[record] {
                guard skipBad else { throw TokcError.malformedInput(source: stream.name, line: line, expected: reason) }
                totals.skipped += 1
                if totals.skippedLines.count < 100 { totals.skippedLines.append(line) }
                try each?(.skipped(line: line, reason: reason))
                continue
            }
            let tokens = part.tokens[(record * width)..<((record + 1) * width)]
            for (index, count) in tokens.enumerated() { totals.distributions[index].add(count) }
            try each?(.counted(line: line, tokens: tokens))
        }
        totals.textBytes += part.textBytes
    }

    /// The records of one stretch of a window, counted on one thread. `lines` are relative to the stretch's first
    /// line (JSON Lines, numbered once the stretches before are known) or absolute (CSV, read in order).
    struct PartResult {
        var relative: Bool
        var lineBreaks = 0
        var lines: [Int] = []
        /// `tokenizers.count` counts per record (zeros for a bad one).
        var tokens: [Int] = []
        var textBytes = 0
        var bad: [Int: String] = [:]
    }

    // MARK: - JSON Lines

    /// Counts the whole lines of `text` (all of it at the end of the input), in stretches of whole lines spread
    /// over the threads; returns how many bytes that took.
    private func countJSONLines(_ text: UnsafeBufferPointer<UInt8>, atEnd: Bool, path: FieldPath) -> (Int, [PartResult]) {
        var end = text.count
        if !atEnd {
            while end > 0 && text[end - 1] != 0x0A { end -= 1 }
            if end == 0 { return (0, []) }
        }
        // Sixteen stretches a thread, so the window's last one leaves a core idle only briefly.
        let size = Swift.max(1 << 16, end / (threads * 16))
        var ranges: [Range<Int>] = []
        var start = 0
        while start < end {
            var cut = Swift.min(start + size, end)
            while cut < end && text[cut - 1] != 0x0A { cut += 1 }
            ranges.append(start..<cut)
            start = cut
        }
        // Read every stretch's records, then count them: one task per vocabulary and stretch, vocabulary by
        // vocabulary, so a thread keeps to one vocabulary's tables for stretch after stretch.
        let read = runParts(ranges.count) { index in
            readLines(UnsafeBufferPointer(rebasing: text[ranges[index]]), path: path)
        }
        let width = tokenizers.count
        let counts = runParts(width * ranges.count) { task in
            let (vocabulary, stretch) = (task / ranges.count, task % ranges.count)
            return read[stretch].strings.count(with: tokenizers[vocabulary], allowedSpecial: allowedSpecial,
                                               in: UnsafeBufferPointer(rebasing: text[ranges[stretch]]))
        }
        var results = read.map(\.result)
        for stretch in ranges.indices {
            results[stretch].tokens = [Int](repeating: 0, count: results[stretch].lines.count * width)
            for vocabulary in 0..<width {
                for (record, count) in counts[vocabulary * ranges.count + stretch].enumerated() {
                    results[stretch].tokens[record * width + vocabulary] = count
                }
            }
        }
        return (end, results)
    }

    /// The strings a stretch's records hold: each a range of the stretch, or (negative bounds: -1 - offset) of
    /// `copies`, the strings that had escapes; `records[r]` the strings of record `r` (none for a bad one).
    struct RecordStrings: Sendable {
        var strings: [Range<Int>] = []
        var copies: [UInt8] = []
        var records: [Range<Int>] = []

        /// Each record's tokens: the sum of its strings' counts, each string counted alone.
        func count(with tokenizer: Tokenizer, allowedSpecial: SpecialTokenPolicy, in text: UnsafeBufferPointer<UInt8>) -> [Int] {
            copies.withUnsafeBufferPointer { copies in
                records.map { range in
                    var sum = 0
                    for string in strings[range] {
                        let bytes = string.lowerBound >= 0 ? UnsafeBufferPointer(rebasing: text[string])
                            : UnsafeBufferPointer(rebasing: copies[(-1 - string.lowerBound)..<(-1 - string.lowerBound + string.count)])
                        sum += tokenizer.count(bytes, allowedSpecial: allowedSpecial)
                    }
                    return sum
                }
            }
        }
    }

    /// Reads the stretch's records and finds their strings; they are counted after (`RecordStrings.count`), one
    /// vocabulary at a time: interleaving the vocabularies record by record made each evict the others' merges
    /// from the per-thread memo (`MergeMemo`), which took three vocabularies in one read from 1x to 2.3x the time
    /// of three runs.
    private func readLines(_ text: UnsafeBufferPointer<UInt8>, path: FieldPath) -> (result: PartResult, strings: RecordStrings) {
        var result = PartResult(relative: true)
        var start = 0
        // Each string: a range of `text`, or (negative bounds, -1 - offset) of `copies` (one with escapes).
        var strings: [Range<Int>] = []
        var copies: [UInt8] = []
        var recordStrings: [Range<Int>] = []
        let base = text.baseAddress!
        reading: while start < text.count {
            var end = start
            while end < text.count && text[end] != 0x0A { end += 1 }
            var last = end
            if last > start && text[last - 1] == 0x0D { last -= 1 }
            let line = UnsafeBufferPointer(rebasing: text[start..<last])
            if !line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
                let record = result.lines.count
                result.lines.append(result.lineBreaks)
                let first = strings.count
                do {
                    let value: JSONReader.Value
                    do {
                        value = try JSONReader.parse(UnsafeRawBufferPointer(line))
                    } catch {
                        throw RecordError("a JSON value: \(error.message)")
                    }
                    try path.forEachString(in: value, line: UnsafeRawBufferPointer(line)) { string in
                        result.textBytes += string.count
                        if let address = string.baseAddress, address >= base && address < base + text.count {
                            let offset = address - base
                            strings.append(offset..<(offset + string.count))
                        } else {
                            strings.append((-1 - copies.count)..<(-1 - copies.count + string.count))
                            copies.append(contentsOf: string)
                        }
                    }
                } catch {
                    result.bad[record] = (error as? RecordError)?.message ?? "\(error)"
                    for range in strings[first...] { result.textBytes -= range.count }
                    strings.removeSubrange(first...)
                    recordStrings.append(first..<first)
                    // Without skipBad the first bad record ends the count: the rest of the stretch is not read.
                    if !skipBad { break reading }
                    if end < text.count { result.lineBreaks += 1 }
                    start = end + 1
                    continue
                }
                recordStrings.append(first..<strings.count)
            }
            if end < text.count { result.lineBreaks += 1 }
            start = end + 1
        }
        return (result, RecordStrings(strings: strings, copies: copies, records: recordStrings))
    }

    // MARK: - CSV and TSV

    /// The header once read, and the column's place in it.
    struct DelimitedState {
        var header: [String]?
        var columnIndex: Int?
    }

    /// Reads the whole records of `text` on this thread (a quoted field may hold line breaks, so a window
    /// cannot be cut before it is read), then counts their column's texts spread over the threads.
    private func countDelimited(
        _ text: UnsafeBufferPointer<UInt8>, atEnd: Bool, line firstLine: Int, column: String, records: DelimitedRecords,
        state: inout DelimitedState, source: String
    ) throws -> (Int, [PartResult]) {
        var position = 0
        var line = firstLine
        if state.header == nil {
            if text.isEmpty {
                if !atEnd { return (0, []) }
                throw TokcError.malformedInput(source: source, line: 1, expected: "a header line naming the columns (the input is empty)")
            }
            var names: [String] = []
            var outcome = records.record(in: text, from: 0, atEnd: atEnd) { _, bytes, quoted in
                var name: [UInt8] = []
                if quoted { DelimitedRecords.unquote(bytes, into: &name) } else { name = Array(bytes) }
                names.append(String(decoding: name, as: UTF8.self))
            }
            // Blank lines before the header are no records.
            while case let .blank(next) = outcome {
                position = next
                line += 1
                if position == text.count { return (atEnd ? position : 0, []) }
                names = []
                outcome = records.record(in: text, from: position, atEnd: atEnd) { _, bytes, quoted in
                    var name: [UInt8] = []
                    if quoted { DelimitedRecords.unquote(bytes, into: &name) } else { name = Array(bytes) }
                    names.append(String(decoding: name, as: UTF8.self))
                }
            }
            switch outcome {
            case .incomplete: if !atEnd { return (0, []) }
                throw TokcError.malformedInput(source: source, line: line, expected: "a header line naming the columns")
            case let .bad(reason, _): throw TokcError.malformedInput(source: source, line: line, expected: "a header line naming the columns: \(reason)")
            case let .record(next):
                line += Self.lineBreaks(in: UnsafeBufferPointer(rebasing: text[position..<next]))
                position = next
            case .blank: break
            }
            state.header = names
            state.columnIndex = try Self.columnIndex(column, in: names, source: source)
        }
        let (columnIndex, fieldCount) = (state.columnIndex!, state.header!.count)
        var batch = PartResult(relative: false)
        var texts: [UInt8] = []
        var ends: [Int] = []
        while position < text.count {
            var fields = 0
            var value: Range<Int> = texts.count..<texts.count
            let outcome = records.record(in: text, from: position, atEnd: atEnd) { index, bytes, quoted in
                fields += 1
                guard index == columnIndex else { return }
                let start = texts.count
                if quoted { DelimitedRecords.unquote(bytes, into: &texts) } else { texts.append(contentsOf: bytes) }
                value = start..<texts.count
            }
            if case .incomplete = outcome, !atEnd { break }
            let next: Int
            switch outcome {
            case .incomplete: next = text.count
            case let .blank(after), let .record(after), let .bad(_, after): next = after
            }
            switch outcome {
            case .blank: break
            case .record where fields == fieldCount:
                batch.lines.append(line)
                ends.append(value.upperBound)
                texts.removeSubrange(value.upperBound...)
            default:
                let reason = switch outcome {
                case let .bad(reason, _): reason
                case .incomplete: "a closing quote for the field opened on this line (none follows)"
                default: "\(fieldCount) fields, as the header has, found \(fields)"
                }
                batch.bad[batch.lines.count] = reason
                batch.lines.append(line)
                texts.removeSubrange(value.lowerBound...)
                ends.append(texts.count)
            }
            line += Self.lineBreaks(in: UnsafeBufferPointer(rebasing: text[position..<next]))
            position = next
            if !skipBad && !batch.bad.isEmpty { break }
        }
        // The column's texts, counted on all threads in stretches of about equal bytes.
        let width = tokenizers.count
        batch.tokens = [Int](repeating: 0, count: ends.count * width)
        batch.textBytes = texts.count
        let size = Swift.max(1 << 16, texts.count / (threads * 8))
        var ranges: [Range<Int>] = []
        var first = 0
        while first < ends.count {
            var last = first
            let start = first == 0 ? 0 : ends[first - 1]
            while last < ends.count && ends[last] - start < size { last += 1 }
            last = Swift.min(Swift.max(last, first + 1), ends.count)
            ranges.append(first..<last)
            first = last
        }
        let counts = texts.withUnsafeBufferPointer { texts in
            nonisolated(unsafe) let texts = texts
            return runParts(ranges.count) { index -> [Int] in
                var counts: [Int] = []
                for record in ranges[index] {
                    let start = record == 0 ? 0 : ends[record - 1]
                    let string = UnsafeBufferPointer(rebasing: texts[start..<ends[record]])
                    for tokenizer in tokenizers { counts.append(tokenizer.count(string, allowedSpecial: allowedSpecial)) }
                }
                return counts
            }
        }
        var offset = 0
        for part in counts {
            for (index, count) in part.enumerated() { batch.tokens[offset + index] = count }
            offset += part.count
        }
        return (position, [batch])
    }

    static func columnIndex(_ column: String, in header: [String], source: String) throws(TokcError) -> Int {
        guard let index = header.firstIndex(of: column) else {
            throw .malformedInput(source: source, line: 1, expected: "a column \"\(column)\" in the header; it has \(header.map { "\"\($0)\"" }.joined(separator: ", "))")
        }
        return index
    }

    static func lineBreaks(in text: UnsafeBufferPointer<UInt8>) -> Int {
        var count = 0
        for byte in text where byte == 0x0A { count += 1 }
        return count
    }

    // MARK: - Threads

    /// `body(0..<count)`, on all threads unless `threads` is 1, results in order.
    private func runParts<Result>(_ count: Int, _ body: (Int) -> Result) -> [Result] {
        if threads == 1 || count == 1 { return (0..<count).map(body) }
        var results = [Result?](repeating: nil, count: count)
        results.withUnsafeMutableBufferPointer { results in
            // Each part writes only its own slot, and the closure outlives the loop.
            nonisolated(unsafe) let (results, body) = (results, body)
            DispatchQueue.concurrentPerform(iterations: count) { index in results[index] = body(index) }
        }
        return results.map { $0! }
    }
}
