import CPCRE2

/// A PCRE2 regex compiled once (with JIT where the platform has it) and shared by every thread.
///
/// Why PCRE2 and not Foundation or Swift `Regex`: tiktoken's patterns need possessive quantifiers, look-ahead and
/// Unicode properties at tens of MB/s; PCRE2's JIT scans the o200k pattern at ~100 MB/s on one core here.
///
/// Threads: the compiled code is read-only after `init` and PCRE2 documents it as safe to share. Matching needs
/// scratch (match data, JIT stack) that must not be shared, so each `forEachMatch` call takes one from a small
/// pool and returns it: one lock round trip per call, nothing per match (tiktoken keeps per-thread regex clones
/// for the same reason).
final class PCRE2Pattern: @unchecked Sendable {  // Invariant: `code` is never mutated after init.
    let pattern: String
    private let code: OpaquePointer
    private let isJITCompiled: Bool
    private let scratchPool = Locked<[Scratch]>([])

    /// Match scratch owned by one caller at a time.
    fileprivate struct Scratch: @unchecked Sendable {  // Invariant: used by one thread at a time (pool hand-off).
        let matchData: OpaquePointer
        let matchContext: OpaquePointer
        let jitStack: OpaquePointer?
    }

    /// Compiles `pattern` as UTF-8 with Unicode properties. `$` matches only at the very end (as in Rust's
    /// `regex`, which tiktoken uses).
    init(_ pattern: String) throws(TokcError) {
        self.pattern = pattern
        let options = PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY
        var errorCode: Int32 = 0
        var errorOffset: Int = 0
        let compiled = Array(pattern.utf8).withUnsafeBufferPointer { bytes in
            pcre2_compile_8(bytes.baseAddress, bytes.count, options, &errorCode, &errorOffset, nil)
        }
        guard let compiled else {
            throw .invalidPattern(pattern: pattern, offset: errorOffset, reason: PCRE2Pattern.message(for: errorCode))
        }
        code = compiled
        isJITCompiled = pcre2_jit_compile_8(compiled, PCRE2_JIT_COMPLETE) == 0
    }

    deinit {
        scratchPool.withLock { pool in
            for scratch in pool { Self.free(scratch) }
            pool.removeAll()
        }
        pcre2_code_free_8(code)
    }

    /// Calls `body` with the byte range of each successive match in `subject`, left to right, non-overlapping.
    /// Bytes between matches (text no branch of the pattern accepts) are not reported: the caller sees them as
    /// gaps between ranges.
    ///
    /// Precondition: `subject` is well-formed UTF-8 (callers split with `UTF8Scan` first). PCRE2 is told not to
    /// check, which it would otherwise do from the start offset on every call: quadratic over a long text.
    ///
    /// Returns false if PCRE2 gave up (a resource limit), after reporting the matches found before that point.
    ///
    /// `shortcut(start)`, when given, may answer for the match at `start` without PCRE2: it returns the match's
    /// end when it knows the match begins at `start` and ends there (see `RegexPreTokenizer.WordShortcut`), else
    /// nil and PCRE2 runs.
    ///
    /// (`shortcut` is a plain closure, not an optional one: an optional closure parameter escapes, and its
    /// context would be allocated on every call.)
    /// Whether the pattern matches anywhere in `subject` (well-formed UTF-8).
    func matches(_ subject: [UInt8]) -> Bool {
        let scratch = takeScratch()
        defer { returnScratch(scratch) }
        return subject.withUnsafeBufferPointer { bytes in
            // An empty subject has no address of its own; PCRE2 reads nothing of it.
            let base = bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!
            let status = isJITCompiled
                ? pcre2_jit_match_8(code, base, bytes.count, 0, 0, scratch.matchData, scratch.matchContext)
                : pcre2_match_8(code, base, bytes.count, 0, PCRE2_NO_UTF_CHECK, scratch.matchData, scratch.matchContext)
            return status >= 0
        }
    }

    @inline(__always)
    func forEachMatch(
        in subject: UnsafeBufferPointer<UInt8>, shortcut: (Int) -> Int? = { _ in nil }, _ body: (Range<Int>) -> Void
    ) -> Bool {
        guard subject.count > 0 else { return true }
        let matcher = takeMatcher()
        defer { release(matcher) }
        var start = 0
        while start < subject.count {
            if let end = shortcut(start) {
                body(start..<end)
                start = end
                continue
            }
            switch nextMatch(in: subject, from: start, with: matcher) {
            case .match(let range):
                if !range.isEmpty { body(range) }
                // An empty match (none of tokc's patterns has one; a user's regex might) steps over one code
                // point so the loop always advances and the caller sees the step as a gap.
                start = range.isEmpty ? Self.nextCodePointBoundary(in: subject, after: range.lowerBound) : range.upperBound
            case .none: return true
            case .failed: return false
            }
        }
        return true
    }

    /// Match scratch held by one caller for as many `nextMatch` calls as it likes: a split that asks PCRE2
    /// only where its own scanners cannot answer takes it at the first such place and gives it back at its end.
    struct Matcher {
        fileprivate let scratch: Scratch
    }

    func takeMatcher() -> Matcher { Matcher(scratch: takeScratch()) }

    func release(_ matcher: Matcher) { returnScratch(matcher.scratch) }

    enum NextMatch {
        /// The first match at or after the start (possibly empty, with a user's pattern).
        case match(Range<Int>)
        /// No match in the rest of the subject.
        case none
        /// PCRE2 gave up (a resource limit).
        case failed
    }

    /// The first match in `subject` (well-formed UTF-8, see `forEachMatch`) starting at `start` or later.
    @inline(__always)
    func nextMatch(in subject: UnsafeBufferPointer<UInt8>, from start: Int, with matcher: Matcher) -> NextMatch {
        let scratch = matcher.scratch
        let status = isJITCompiled
            ? pcre2_jit_match_8(code, subject.baseAddress, subject.count, start, 0, scratch.matchData, scratch.matchContext)
            : pcre2_match_8(code, subject.baseAddress, subject.count, start, PCRE2_NO_UTF_CHECK, scratch.matchData, scratch.matchContext)
        if status == PCRE2_ERROR_NOMATCH { return .none }
        if status < 0 { return .failed }
        let ovector = pcre2_get_ovector_pointer_8(scratch.matchData)!
        return .match(ovector[0]..<ovector[1])
    }

    static func nextCodePointBoundary(in bytes: UnsafeBufferPointer<UInt8>, after index: Int) -> Int {
        var next = index + 1
        while next < bytes.count && bytes[next] & 0xC0 == 0x80 { next += 1 }
        return next
    }

    private func takeScratch() -> Scratch {
        if let pooled = scratchPool.withLock({ $0.popLast() }) { return pooled }
        // Failing to allocate a few hundred bytes of match data is out-of-memory, which Swift treats as fatal
        // everywhere else too.
        let matchData = pcre2_match_data_create_from_pattern_8(code, nil)!
        let matchContext = pcre2_match_context_create_8(nil)!
        var jitStack: OpaquePointer? = nil
        if isJITCompiled {
            // 32 KiB committed, up to 8 MiB reserved: tokc's patterns use a few hundred bytes, a user's
            // backtracking-heavy regex may need more before PCRE2 reports a limit.
            jitStack = pcre2_jit_stack_create_8(32 * 1024, 8 * 1024 * 1024, nil)
            if let jitStack { pcre2_jit_stack_assign_8(matchContext, nil, UnsafeMutableRawPointer(jitStack)) }
        }
        return Scratch(matchData: matchData, matchContext: matchContext, jitStack: jitStack)
    }

    private func returnScratch(_ scratch: Scratch) {
        let kept = scratchPool.withLock { pool -> Bool in
            guard pool.count < 64 else { return false }
            pool.append(scratch)
            return true
        }
        if !kept { Self.free(scratch) }
    }

    private static func free(_ scratch: Scratch) {
        pcre2_match_data_free_8(scratch.matchData)
        pcre2_match_context_free_8(scratch.matchContext)
        if let stack = scratch.jitStack { pcre2_jit_stack_free_8(stack) }
    }

    static func message(for errorCode: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let length = pcre2_get_error_message_8(errorCode, &buffer, buffer.count)
        guard length > 0 else { return "PCRE2 error \(errorCode)" }
        return String(decoding: buffer[0..<Int(length)], as: UTF8.self)
    }
}
