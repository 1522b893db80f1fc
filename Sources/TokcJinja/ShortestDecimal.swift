/// A finite double's shortest decimal digits that read back as the same double (what Python's `repr`, Rust's
/// ryu and Swift's `description` all start from), with its decimal exponent: the value is
/// `±d.ddd × 10^exponent`. Each language then lays the digits out its own way.
public struct ShortestDecimal: Sendable, Equatable {
    public let negative: Bool
    /// No leading or trailing zeros ("0" for zero).
    public let digits: String
    public let exponent: Int

    public init(_ value: Double) {
        negative = value.sign == .minus
        if value == 0 || !value.isFinite {
            digits = "0"
            exponent = 0
            return
        }
        // Swift's description has the shortest round-trip digits; take them and the exponent from it.
        var text = value.magnitude.description
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...]) ?? 0
            text = String(text[..<e])
        }
        var digits = text.replacingAll(".", with: "")
        let point = text.firstIndex(of: ".").map { text.distance(from: text.startIndex, to: $0) } ?? text.count
        exponent += point - 1
        // Leading zeros (0.00123) shift the exponent down.
        while digits.count > 1 && digits.hasPrefix("0") {
            digits.removeFirst()
            exponent -= 1
        }
        while digits.count > 1 && digits.hasSuffix("0") { digits.removeLast() }
        self.digits = digits
        self.exponent = exponent
    }

    /// As Rust's ryu (and so serde_json) writes it: `1.0`, `0.001`, `1e-7`, `1.5e16`, `123.0`.
    public var ryuText: String {
        let sign = negative ? "-" : ""
        let length = digits.count
        let pointAt = exponent + 1  // digits before the decimal point
        if length <= pointAt && pointAt <= 16 {
            return sign + digits + String(repeating: "0", count: pointAt - length) + ".0"
        }
        if 0 < pointAt && pointAt <= 16 {
            let split = digits.index(digits.startIndex, offsetBy: pointAt)
            return sign + digits[..<split] + "." + digits[split...]
        }
        if -5 < pointAt && pointAt <= 0 {
            return sign + "0." + String(repeating: "0", count: -pointAt) + digits
        }
        let mantissa = length == 1 ? digits : String(digits.first!) + "." + digits.dropFirst()
        return sign + mantissa + "e" + String(exponent)
    }
}
