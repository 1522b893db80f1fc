/// BPE as Hugging Face `tokenizers` runs it when merges are ranked by their place in the merge list
/// (`ignore_merges: false`): a piece starts as its first symbols, and the adjacent pair whose merge comes
/// first in the list merges first (the leftmost on a tie), until no adjacent pair has a merge. Unlike tiktoken's
/// rule, a pair merges only if the list has that very pair, not merely a token equal to its concatenation.
///
/// The first symbols are single bytes for byte-level vocabularies (GPT-2, DeepSeek V3). For SentencePiece-style
/// ones (Llama 2, Mistral) they are characters: each UTF-8 character that is a token, and for any other its
/// bytes as `<0xNN>` tokens (byte fallback) or the unknown token, consecutive unknowns fused into one when the
/// vocabulary says so. Ill-formed bytes are characters of one byte, so with byte fallback nothing is lost.
///
/// Pieces up to `linearMergeLimit` symbols merge by rescanning all pairs per merge (O(n²), flat); longer ones
/// (a pre-tokenizer-less SentencePiece text is one piece) use a linked list and a heap (O(n log n)).
public struct MergeListBPEEncoder: Encoder {
    /// How a piece becomes its first symbols.
    enum Alphabet: Sendable {
        /// Every byte is a token: `ids[byte]`.
        case bytes(ids: [TokenID])
        /// Characters that are tokens; else `byteFallback[byte]` (`noToken` where missing) or `unknown`.
        case characters(byteFallback: [TokenID]?, unknown: TokenID?, fuseUnknown: Bool)
    }

    let table: TokenTable
    let alphabet: Alphabet
    /// `left << 32 | right` → `rank << 32 | merged id`.
    let merges: PairTable
    /// Byte-fallback ids → their byte, for decoding.
    let byteOfFallbackID: [TokenID: UInt8]
    /// The id of `▁` when a long piece may be merged word by word (see `independentWordsStart`), else nil.
    private(set) var wordStart: TokenID?
    /// Which pieces that are a token whole skip the merges and are that token.
    var wholePieces = WholePieces.never
    /// Which three-byte characters a byte-level merge may start from whole (`WholeCharacters`, with a merge's
    /// place in the list as its rank); nil for a character alphabet, or when every merge starts from bytes.
    private(set) var wholeCharacters: WholeCharacters.Lazy?

    /// llama.cpp's and Hugging Face's `ignore_merges` (Llama 3 and others: every piece that is a token), and
    /// llama.cpp's rule for Gemma 4 (a run of line breaks that is a token).
    enum WholePieces: Sendable {
        case never, always, lineBreakRuns
    }

    /// The same encoder merging every piece whole, as the rule states it (tests compare the two).
    func mergingWholePieces() -> MergeListBPEEncoder {
        var copy = self
        copy.wordStart = nil
        return copy
    }

    /// The same encoder starting every merge from bytes, as the rule states it (tests compare the two).
    func mergingFromBytes() -> MergeListBPEEncoder {
        var copy = self
        copy.wholeCharacters = nil
        return copy
    }

    /// The same encoder with `WholeCharacters` built before (`DerivedTables`) instead of on first use.
    func startingFromWholeCharacters(_ built: WholeCharacters) -> MergeListBPEEncoder {
        var copy = self
        copy.wholeCharacters = WholeCharacters.Lazy { built }
        return copy
    }

    static let noMerge = UInt64.max
    static let noToken = TokenID.max
    static let linearMergeLimit = 32

    /// `merges` in list order, as token ids. Returns nil for a byte-level alphabet that misses a single byte. An
    /// alphabet given with `noToken` for a byte (llama.cpp's vocabularies without the bytes UTF-8 never uses)
    /// keeps that byte as a symbol that merges with nothing and is then dropped, as llama.cpp drops it.
    init?(table: TokenTable, merges: [(left: TokenID, right: TokenID, merged: TokenID)], alphabet: Alphabet? = nil) {
        // The first listing of a pair wins (`PairTable` keeps it).
        let pairs = PairTable(merges.enumerated().lazy.map { rank, merge in
            (UInt64(merge.left) << 32 | UInt64(merge.right), UInt64(rank) << 32 | UInt64(merge.merged))
        })
        self.init(table: table, pairs: pairs, alphabet: alphabet)
    }

    /// The same from merges already in a pair table (`merges` of an encoder built before: `CompiledEncoder`).
    init?(table: TokenTable, pairs: PairTable, alphabet: Alphabet? = nil) {
        if let alphabet {
            self.alphabet = alphabet
        } else {
            guard let byteIDs = table.singleByteIDs() else { return nil }
            self.alphabet = .bytes(ids: byteIDs)
        }
        self.merges = pairs
        self.table = table
        var byteOfFallbackID: [TokenID: UInt8] = [:]
        if case .characters(let fallback?, _, _) = self.alphabet {
            for (byte, id) in fallback.enumerated() where id != Self.noToken { byteOfFallbackID[id] = UInt8(byte) }
        }
        self.byteOfFallbackID = byteOfFallbackID
        self.wordStart = Self.independentWordsStart(table: table, alphabet: self.alphabet)
        if case .bytes(let ids) = self.alphabet {
            wholeCharacters = WholeCharacters.Lazy { Self.wholeCharacters(table: table, pairs: pairs, byteIDs: ids) }
        }
    }

    /// `WholeCharacters` for a merge list: a token's rank is that of the first listed merge that makes it, and a
    /// character completes when, from its three bytes alone, the lower-ranked of its two byte pairs merges and
    /// then the result with the remaining byte makes the character's token.
    private static func wholeCharacters(table: TokenTable, pairs: PairTable, byteIDs: [TokenID]) -> WholeCharacters {
        var tokenRank = [TokenID](repeating: .max, count: table.idLimit)
        pairs.forEach { _, value in
            let merged = Int(truncatingIfNeeded: value & 0xFFFF_FFFF)
            if merged < tokenRank.count { tokenRank[merged] = min(tokenRank[merged], TokenID(truncatingIfNeeded: value >> 32)) }
        }
        func merge(_ left: TokenID, _ right: TokenID) -> UInt64 {
            pairs.value(for: UInt64(left) << 32 | UInt64(right), missing: noMerge)
        }
        return WholeCharacters(table: table, rank: { Int($0) < tokenRank.count ? tokenRank[Int($0)] : .max }) { b0, b1, b2, id in
            let (i0, i1, i2) = (byteIDs[Int(b0)], byteIDs[Int(b1)], byteIDs[Int(b2)])
            guard i0 != noToken, i1 != noToken, i2 != noToken else { return nil }
            let left = merge(i0, i1), right = merge(i1, i2)
            let first = min(left, right)
            guard first != noMerge else { return nil }
            let second = first == left
                ? merge(TokenID(truncatingIfNeeded: left), i2)
                : merge(i0, TokenID(truncatingIfNeeded: right))
            guard second != noMerge, TokenID(truncatingIfNeeded: second) == id else { return nil }
            return TokenID(truncatingIfNeeded: max(first, second) >> 32)
        }
    }

    /// The ids of a merge written as text (a `tokenizer.json` or GGUF merge list): its left and right tokens and
    /// the token they make, or nil when one of the three is not in `table`. Byte-level text (GPT-2's spelling) is
    /// decoded first. `buffer` is scratch space, reused from merge to merge: the two halves go in end to end.
    static func mergeIDs(
        left: some Collection<UInt8>, right: some Collection<UInt8>, byteLevel: Bool, table: TokenTable, buffer: inout [UInt8]
    ) -> (left: TokenID, right: TokenID, merged: TokenID)? {
        buffer.removeAll(keepingCapacity: true)
        let split: Int
        if byteLevel {
            guard ByteLevel.append(utf8: left, to: &buffer) else { return nil }
            split = buffer.count
            guard ByteLevel.append(utf8: right, to: &buffer) else { return nil }
        } else {
            buffer += left
            split = buffer.count
            buffer += right
        }
        guard split > 0, split < buffer.count else { return nil }
        return buffer.withUnsafeBufferPointer { bytes in
            let base = bytes.baseAddress!
            guard let leftID = table.id(of: base, count: split), let rightID = table.id(of: base + split, count: bytes.count - split),
                  let mergedID = table.id(of: base, count: bytes.count) else { return nil }
            return (leftID, rightID, mergedID)
        }
    }

    /// SentencePiece-style vocabularies (Llama 2, Mistral) have no pre-tokenizer: a whole text is one piece,
    /// and one heap over 300,000 symbols spends most of its time in cache misses. But where no token holds `▁`
    /// after anything other than `▁` (no "x▁"), no merge can join a symbol to a `▁` that follows a
    /// non-`▁` symbol: each such `▁` starts a word that merges on its own, and merging the words one by one
    /// gives the same ids (merges inside different words never meet, so their order does not matter). Returns
    /// the id of `▁` when that holds, else nil. Checked on the token bytes once, at load.
    static func independentWordsStart(table: TokenTable, alphabet: Alphabet) -> TokenID? {
        guard case .characters = alphabet else { return nil }
        let marker: [UInt8] = [0xE2, 0x96, 0x81]
        guard let id = table.id(of: marker) else { return nil }
        var joinsAcross = false
        table.forEachToken { _, bytes in
            guard !joinsAcross, bytes.count > 3 else { return }
            func markerStarts(at offset: Int) -> Bool {
                offset + 3 <= bytes.count && bytes[offset] == 0xE2 && bytes[offset + 1] == 0x96 && bytes[offset + 2] == 0x81
            }
            // Skip the leading run of markers; a marker anywhere after it follows something else.
            var at = 0
            while markerStarts(at: at) { at += 3 }
            while at + 3 <= bytes.count && !markerStarts(at: at) { at += 1 }
            joinsAcross = markerStarts(at: at)
        }
        return joinsAcross ? nil : id
    }

    public var idLimit: Int { table.idLimit }

    /// Where a word starts (see `independentWordsStart`): a `▁` (E2 96 81, a whole character and a symbol of
    /// its own) after anything but `▁`. The words merge on their own, so the two sides of such a cut do too.
    public var cutsPieces: Bool { wordStart != nil }

    public func cut(in piece: UnsafeBufferPointer<UInt8>, from index: Int) -> Int? {
        guard cutsPieces else { return nil }
        let marker = MetaspaceNormalizer.lowLine
        var at = max(index, marker.count)
        while at + marker.count <= piece.count {
            if ReplaceNormalizer.occurs(marker, in: piece, at: at) && !ReplaceNormalizer.occurs(marker, in: piece, at: at - marker.count) {
                return at
            }
            at += 1
        }
        return nil
    }

    public var unknownID: TokenID? {
        if case .characters(_, let unknown, _) = alphabet { return unknown }
        return nil
    }

    public var byteFallbackIDs: Set<TokenID> { Set(byteOfFallbackID.keys) }

    @inline(__always)
    private func merge(_ left: TokenID, _ right: TokenID) -> UInt64 {
        merges.value(for: UInt64(left) << 32 | UInt64(right), missing: Self.noMerge)
    }

    public func encode<Sink: TokenSink>(piece: UnsafeBufferPointer<UInt8>, into sink: inout Sink) {
        let count = piece.count
        guard count > 0 else { return }
        if wholePieces != .never, let id = table.id(of: piece.baseAddress!, count: count),
           wholePieces == .always || !piece.contains(where: { $0 != 0x0A }) {
            sink.append(id)
            return
        }
        if case .bytes(let ids) = alphabet, count == 1 {
            if ids[Int(piece[0])] != Self.noToken { sink.append(ids[Int(piece[0])]) }
            return
        }
        // A piece has at most one symbol per byte, so `count` slots hold them.
        ScratchSpace.withBuffer(of: TokenID.self, capacity: count) { symbols in
            let length = firstSymbols(of: piece, into: symbols)
            guard length > Self.linearMergeLimit, let wordStart else {
                merge(UnsafeMutableBufferPointer(rebasing: symbols[..<length]), into: &sink)
                return
            }
            // Word by word: a word starts at a `▁` that follows anything but `▁`.
            var start = 0
            for index in 1..<length where symbols[index] == wordStart && symbols[index - 1] != wordStart {
                merge(UnsafeMutableBufferPointer(rebasing: symbols[start..<index]), into: &sink)
                start = index
            }
            merge(UnsafeMutableBufferPointer(rebasing: symbols[start..<length]), into: &sink)
        }
    }

    private func merge<Sink: TokenSink>(_ symbols: UnsafeMutableBufferPointer<TokenID>, into sink: inout Sink) {
        if symbols.count <= Self.linearMergeLimit {
            mergeLinear(symbols, into: &sink)
        } else {
            mergeWithHeap(symbols, into: &sink)
        }
    }

    /// Writes the piece's first symbols (ids) and returns how many there are.
    private func firstSymbols(of piece: UnsafeBufferPointer<UInt8>, into symbols: UnsafeMutableBufferPointer<TokenID>) -> Int {
        switch alphabet {
        case .bytes(let ids):
            // A piece of a few bytes holds at most a character or two: not worth the look-ups.
            guard piece.count > 8, let whole = wholeCharacters?.value else {
                for index in 0..<piece.count { symbols[index] = ids[Int(piece[index])] }
                return piece.count
            }
            var length = 0
            var index = 0
            while index < piece.count {
                let lead = piece[index]
                if WholeCharacters.isLead(lead) && index + 2 < piece.count {
                    let second = piece[index + 1], third = piece[index + 2]
                    let after: UInt8? = index + 3 < piece.count ? piece[index + 3] : nil
                    if WholeCharacters.isContinuation(second) && WholeCharacters.isContinuation(third)
                        && !(after.map(WholeCharacters.isContinuation) ?? false),
                       let id = whole.rank(lead, second, third, before: index > 0 ? piece[index - 1] : nil, after: after) {
                        symbols[length] = id
                        length += 1
                        index += 3
                        continue
                    }
                }
                symbols[length] = ids[Int(lead)]
                length += 1
                index += 1
            }
            return length
        case .characters(let byteFallback, let unknown, let fuseUnknown):
            var length = 0
            // An unknown character waits here, so that a run of them can fuse; like Hugging Face, it is written
            // when the next known character comes or the piece ends (byte-fallback tokens do not flush it).
            var pendingUnknown = false
            var index = 0
            while index < piece.count {
                let width = max(UTF8Scan.sequenceLength(in: piece, at: index), 1)
                defer { index += width }
                if let id = table.id(of: piece.baseAddress! + index, count: width) {
                    if pendingUnknown, let unknown { symbols[length] = unknown; length += 1 }
                    pendingUnknown = false
                    symbols[length] = id
                    length += 1
                    continue
                }
                if let byteFallback, (index..<(index + width)).allSatisfy({ byteFallback[Int(piece[$0])] != Self.noToken }) {
                    for offset in index..<(index + width) {
                        symbols[length] = byteFallback[Int(piece[offset])]
                        length += 1
                    }
                    continue
                }
                guard let unknown else { continue }  // the loader refuses a vocabulary that would get here
                if pendingUnknown && !fuseUnknown { symbols[length] = unknown; length += 1 }
                pendingUnknown = true
            }
            if pendingUnknown, let unknown { symbols[length] = unknown; length += 1 }
            return length
        }
    }

    /// parts[i] is a symbol; pending[i] the merge of parts[i] and parts[i + 1]. Each merge rescans the ranks
    /// (no lookups) and looks up only the two new neighbours: O(n²) comparisons, O(n) lookups.
    private func mergeLinear<Sink: TokenSink>(_ parts: UnsafeMutableBufferPointer<TokenID>, into sink: inout Sink) {
        let count = parts.count
        guard count > 1 else {
            if count == 1 && parts[0] != Self.noToken { sink.append(parts[0]) }
            return
        }
        ScratchSpace.withBuffer(of: UInt64.self, capacity: count) { pending in
            for index in 0..<count - 1 { pending[index] = merge(parts[index], parts[index + 1]) }
            var length = count
            while length > 1 {
                var best = Self.noMerge
                var at = -1
                for index in 0..<length - 1 where pending[index] < best {
                    best = pending[index]
                    at = index
                }
                guard at >= 0 else { break }
                parts[at] = TokenID(truncatingIfNeeded: best)
                for index in (at + 1)..<(length - 1) {
                    parts[index] = parts[index + 1]
                    pending[index] = pending[index + 1]
                }
                length -= 1
                pending[at] = at + 1 < length ? merge(parts[at], parts[at + 1]) : Self.noMerge
                if at > 0 { pending[at - 1] = merge(parts[at - 1], parts[at]) }
            }
            for index in 0..<length where parts[index] != Self.noToken { sink.append(parts[index]) }
        }
    }

    private struct Node {
        var next: Int32
        var previous: Int32
        /// `rank << 32 | merged id` of this symbol with the next; `noMerge` when none.
        var pending: UInt64
    }

    /// The same merges with a doubly linked list of symbols and a min-heap of `rank << 32 | position` with
    /// lazy deletion. A rank names one pair, so an entry is current exactly when its node still has that rank;
    /// positions order ties leftmost first, as in `mergeLinear` and Hugging Face.
    private func mergeWithHeap<Sink: TokenSink>(_ parts: UnsafeMutableBufferPointer<TokenID>, into sink: inout Sink) {
        let count = parts.count
        ScratchSpace.withBuffer(of: Node.self, capacity: count) { nodes in
            ScratchSpace.withBuffer(of: UInt64.self, capacity: 3 * count) { keys in
                var heap = MinHeap(storage: keys)
                for index in 0..<count {
                    let pending = index + 1 < count ? merge(parts[index], parts[index + 1]) : Self.noMerge
                    nodes.initializeElement(at: index, to: Node(next: Int32(index + 1), previous: Int32(index - 1), pending: pending))
                    if pending != Self.noMerge { heap.push(pending & 0xFFFF_FFFF_0000_0000 | UInt64(index)) }
                }
                while let key = heap.pop() {
                    let index = Int(truncatingIfNeeded: key & 0xFFFF_FFFF)
                    let pending = nodes[index].pending
                    guard pending != Self.noMerge, pending >> 32 == key >> 32 else { continue }
                    let removed = Int(nodes[index].next)
                    let following = Int(nodes[removed].next)
                    parts[index] = TokenID(truncatingIfNeeded: pending)
                    nodes[removed].pending = Self.noMerge
                    nodes[index].next = Int32(following)
                    if following < count {
                        nodes[following].previous = Int32(index)
                        let next = merge(parts[index], parts[following])
                        nodes[index].pending = next
                        if next != Self.noMerge { heap.push(next & 0xFFFF_FFFF_0000_0000 | UInt64(index)) }
                    } else {
                        nodes[index].pending = Self.noMerge
                    }
                    let before = Int(nodes[index].previous)
                    if before >= 0 {
                        let next = merge(parts[before], parts[index])
                        nodes[before].pending = next
                        if next != Self.noMerge { heap.push(next & 0xFFFF_FFFF_0000_0000 | UInt64(before)) }
                    }
                }
                var index = 0
                while index < count {
                    if parts[index] != Self.noToken { sink.append(parts[index]) }
                    index = Int(nodes[index].next)
                }
                _ = nodes.deinitialize()
            }
        }
    }

    public func appendBytes(of id: TokenID, to output: inout [UInt8]) -> Bool {
        if let bytes = table.bytes(of: id) {
            output.append(contentsOf: bytes)
            return true
        }
        guard let byte = byteOfFallbackID[id] else { return false }
        output.append(byte)
        return true
    }
}
