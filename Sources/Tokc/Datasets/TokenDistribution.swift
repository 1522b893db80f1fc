/// Tokens per record, kept as a histogram so that any number of records takes bounded memory: one counter per
/// distinct count (an array for the common small counts, a dictionary past them). The percentiles are exact,
/// by the nearest-rank rule: the p-th percentile is the least count that at least p% of the records do not
/// exceed (so the median of an even number of records is the lower middle one).
public struct TokenDistribution: Sendable, Equatable {
    public private(set) var records = 0
    public private(set) var tokens = 0
    private var small: [Int] = []
    private var large: [Int: Int] = [:]
    private static let smallLimit = 1 << 14

    public init() {}

    public mutating func add(_ count: Int) {
        records += 1
        tokens += count
        if count < Self.smallLimit {
            if small.isEmpty { small = [Int](repeating: 0, count: Self.smallLimit) }
            small[count] += 1
        } else {
            large[count, default: 0] += 1
        }
    }

    /// Adds another distribution's records (another file's).
    public mutating func merge(_ other: TokenDistribution) {
        records += other.records
        tokens += other.tokens
        if !other.small.isEmpty {
            if small.isEmpty { small = other.small } else { for (count, times) in other.small.enumerated() where times > 0 { small[count] += times } }
        }
        for (count, times) in other.large { large[count, default: 0] += times }
    }

    public var min: Int? { percentile(0) }
    public var max: Int? {
        guard records > 0 else { return nil }
        if let largest = large.keys.max() { return largest }
        return small.lastIndex { $0 > 0 }
    }

    /// The nearest-rank percentile, `fraction` in 0...1; nil with no records.
    public func percentile(_ fraction: Double) -> Int? {
        guard records > 0 else { return nil }
        let rank = Swift.max(1, Int((fraction * Double(records)).rounded(.up)))
        var seen = 0
        for (count, times) in small.enumerated() where times > 0 {
            seen += times
            if seen >= rank { return count }
        }
        for count in large.keys.sorted() {
            seen += large[count]!
            if seen >= rank { return count }
        }
        return max
    }

    /// min, median, p90, p99, max, in that order: what `tokc count` reports.
    public var summary: [(name: String, value: Int)] {
        guard records > 0 else { return [] }
        return [("min", min!), ("median", percentile(0.5)!), ("p90", percentile(0.9)!), ("p99", percentile(0.99)!), ("max", max!)]
    }

    public static func == (lhs: TokenDistribution, rhs: TokenDistribution) -> Bool {
        lhs.records == rhs.records && lhs.tokens == rhs.tokens && lhs.large == rhs.large
            && (lhs.small == rhs.small || (lhs.small.allSatisfy { $0 == 0 } && rhs.small.allSatisfy { $0 == 0 }))
    }
}
