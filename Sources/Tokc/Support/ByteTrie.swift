/// A trie of byte strings to ids, as a double array (Aoe's layout, the one SentencePiece's Darts uses): state
/// `s` goes on byte `b` to `t = base[s] + b` when `check[t] == s`. Walking every token that starts at a
/// position (a lattice's edges) costs one dependent load per byte, with no hashing and no allocation.
///
/// Each state is one 8-byte unit holding its `check` and its `base`, whose top bit says that an entry ends
/// there; the id it ends sits in a separate array, read only then. The load that confirms a step brings the
/// next step's base. Per byte the walk is one load that mostly misses L1 (unigram-multi-8k: 24,244 units,
/// 194 KB; perf puts a fifth of Unigram encoding on the branch after that load), so a smaller unit is a
/// faster walk: 12-byte units with the id inside were 3-5% slower. (The layout before those, sorted edge lists
/// and a dense 256-way block for wide nodes, took three to four dependent loads per byte.)
struct ByteTrie: Sendable {
    private struct Unit {
        var check: Int32 = -1  // the state this one is a child of; -1 for a free slot
        var base: UInt32 = 0  // children of this state are at base + byte; the top bit: an entry ends here
    }
    private static let endsEntry: UInt32 = 1 << 31

    private let units: [Unit]
    /// The id each state ends (where its unit's top bit is set), by state.
    private let ids: [Int32]

    init(_ entries: [(bytes: [UInt8], id: TokenID)]) {
        // Entries sorted by bytes, then laid out breadth-first: a node is a range of sorted entries sharing a
        // prefix of its depth, and its children are that range grouped by the next byte.
        let sorted = entries.filter { !$0.bytes.isEmpty }.sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }
        // Built with the id in each unit, then split into `units` and `ids`.
        struct BuildUnit {
            var check: Int32 = -1
            var base: Int32 = 0
            var id: Int32 = -1
        }
        var units = [BuildUnit(check: 0)]  // the root, state 0, marked used
        var queue: [(range: Range<Int>, depth: Int, state: Int)] = [(0..<sorted.count, 0, 0)]
        var head = 0
        // Slots below `firstFree` are all used: the search for a base starts there.
        var firstFree = 1
        var used = SlotBitmap()
        used.insert(0)
        var children: [(byte: UInt8, range: Range<Int>)] = []
        while head < queue.count {
            let (range, depth, state) = queue[head]
            head += 1
            var start = range.lowerBound
            // An entry that ends here is this state's id (the first listed, if several are equal).
            if start < range.upperBound && sorted[start].bytes.count == depth {
                units[state].id = Int32(bitPattern: sorted[start].id)
            }
            while start < range.upperBound && sorted[start].bytes.count == depth { start += 1 }
            children.removeAll(keepingCapacity: true)
            while start < range.upperBound {
                let byte = sorted[start].bytes[depth]
                var end = start + 1
                while end < range.upperBound && sorted[end].bytes[depth] == byte { end += 1 }
                children.append((byte, start..<end))
                start = end
            }
            guard let lowest = children.first?.byte else { continue }
            // The lowest base at which every child's slot is free. Candidates come from free slots for the
            // first child, found a word of the bitmap at a time, so runs of used slots cost little.
            var candidate = max(firstFree, Int(lowest) + 1)
            var base = 0
            search: while true {
                let slot = used.nextClear(from: candidate)
                base = slot - Int(lowest)
                for child in children.dropFirst() where used.contains(base + Int(child.byte)) {
                    candidate = slot + 1
                    continue search
                }
                break
            }
            units[state].base = Int32(base)
            let needed = base + Int(children[children.count - 1].byte) + 1
            if units.count < needed { units.append(contentsOf: repeatElement(BuildUnit(), count: needed - units.count)) }
            for child in children {
                let slot = base + Int(child.byte)
                units[slot].check = Int32(state)
                used.insert(slot)
                queue.append((child.range, depth + 1, slot))
            }
            firstFree = used.nextClear(from: firstFree)
        }
        // Room for base + 255 past the last state, so a walk never reads out of bounds.
        let maxBase = units.reduce(0) { max($0, Int($1.base)) }
        if units.count < maxBase + 256 { units.append(contentsOf: repeatElement(BuildUnit(), count: maxBase + 256 - units.count)) }
        self.units = units.map { Unit(check: $0.check, base: UInt32($0.base) | ($0.id >= 0 ? Self.endsEntry : 0)) }
        ids = units.map { $0.id }
    }

    /// The trie as it was built, read back (`read(from:idLimit:)`).
    private init(units: [Unit], ids: [Int32]) {
        (self.units, self.ids) = (units, ids)
    }

    /// Stores the trie as two arrays: each unit's check and base, then the ids. Building it again costs a sort
    /// and a search for every state's base (unigram-multi-8k: 55M instructions); reading it, a copy.
    func store(into writer: inout WordArrays.Writer) {
        writer.append(units.map { UInt64(UInt32(bitPattern: $0.check)) | UInt64($0.base) << 32 })
        writer.append(ids.map { UInt32(bitPattern: $0) })
    }

    /// What `store` wrote, checked so that no walk reads out of bounds and every id ended is below `idLimit`;
    /// nil otherwise.
    static func read(from reader: inout WordArrays.Reader, idLimit: Int) -> ByteTrie? {
        guard let packed = reader.u64s(), let storedIDs = reader.u32s(), !packed.isEmpty, storedIDs.count == packed.count
        else { return nil }
        var units: [Unit] = []
        units.reserveCapacity(packed.count)
        for word in packed {
            let unit = Unit(check: Int32(bitPattern: UInt32(truncatingIfNeeded: word)), base: UInt32(truncatingIfNeeded: word >> 32))
            // A walk reads `base + byte` for any byte from a state it has reached.
            guard Int(unit.base & ~endsEntry) + 256 <= packed.count else { return nil }
            if unit.base & endsEntry != 0 {
                guard Int(storedIDs[units.count]) < idLimit else { return nil }
            }
            units.append(unit)
        }
        return ByteTrie(units: units, ids: storedIDs.map { Int32(bitPattern: $0) })
    }

    /// Every entry, bytes and id, in no particular order: what the trie was built from.
    func entries() -> [(bytes: [UInt8], id: TokenID)] {
        var result: [(bytes: [UInt8], id: TokenID)] = []
        var stack: [(state: Int, bytes: [UInt8])] = [(0, [])]
        while let (state, bytes) = stack.popLast() {
            let base = Int(units[state].base & ~Self.endsEntry)
            for byte in 0...255 where units[base + byte].check == Int32(state) && base + byte != 0 {
                let child = base + byte
                let spelled = bytes + [UInt8(byte)]
                if units[child].base & Self.endsEntry != 0 { result.append((spelled, TokenID(bitPattern: ids[child]))) }
                stack.append((child, spelled))
            }
        }
        return result
    }

    /// Calls `body(end, id)` for every entry that `text[start..<end]` spells, shortest first.
    @inline(__always)
    func forEachPrefix(of text: UnsafeBufferPointer<UInt8>, from start: Int, _ body: (Int, TokenID) -> Void) {
        units.withUnsafeBufferPointer { units in
            ids.withUnsafeBufferPointer { ids in
                var state = 0
                var base = Int(units[0].base & ~Self.endsEntry)
                var index = start
                while index < text.count {
                    let next = base + Int(text[index])
                    let unit = units[next]
                    guard unit.check == Int32(truncatingIfNeeded: state) else { return }
                    state = next
                    base = Int(unit.base & ~Self.endsEntry)
                    index += 1
                    if unit.base & Self.endsEntry != 0 { body(index, TokenID(bitPattern: ids[next])) }
                }
            }
        }
    }
}

/// Which slots of a growing array are taken, 64 to a word.
private struct SlotBitmap {
    private var words: [UInt64] = []

    func contains(_ slot: Int) -> Bool {
        let word = slot >> 6
        return word < words.count && words[word] & (1 << UInt64(slot & 63)) != 0
    }

    mutating func insert(_ slot: Int) {
        let word = slot >> 6
        if word >= words.count { words.append(contentsOf: repeatElement(0, count: word + 1 - words.count)) }
        words[word] |= 1 << UInt64(slot & 63)
    }

    /// The first slot at or after `slot` that is not taken.
    func nextClear(from slot: Int) -> Int {
        var word = slot >> 6
        guard word < words.count else { return slot }
        var free = ~words[word] & (UInt64.max << UInt64(slot & 63))
        while free == 0 {
            word += 1
            guard word < words.count else { return word << 6 }
            free = ~words[word]
        }
        return word << 6 + free.trailingZeroBitCount
    }
}

