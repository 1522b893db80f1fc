import Foundation

/// The monolingual text a comparison measures: one file per language in a folder, one text per line.
///
/// A folder with `<lang>.heldout.txt` files (tokc's `Corpus/split`) is measured on those, and vocabularies
/// trained for the comparison learn from the `<lang>.train.txt` beside them, so no measured line was seen in
/// training. A folder with only `<lang>.txt` files is measured on them and has no training text.
public struct EvaluationCorpus: Sendable {
    public struct Language: Sendable {
        /// The file name before its first dot: `ja`, `de`, `zh_CN`. Also the ICU locale its words are broken with.
        public let code: String
        /// The text measured.
        public let path: String
        /// The text trained on, if the folder has it.
        public let trainingPath: String?
    }

    public let folder: String
    /// In the order of their codes.
    public let languages: [Language]
    /// The first paragraph of the README in the folder or its parent: where the text comes from.
    public let provenance: String

    /// The languages of `folder`; `only` keeps those codes, in that order (an unknown code is an error).
    public init(folder: String, only: [String]? = nil) throws(TokcError) {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder)
        } catch {
            throw .unreadableFile(path: folder, reason: "is not a readable folder")
        }
        let heldOut = names.filter { $0.hasSuffix(".heldout.txt") }
        var languages: [Language]
        if !heldOut.isEmpty {
            languages = heldOut.map { name in
                let code = String(name.dropLast(".heldout.txt".count))
                let training = folder + "/" + code + ".train.txt"
                return Language(code: code, path: folder + "/" + name, trainingPath: FileIO.isFile(training) ? training : nil)
            }
        } else {
            languages = names.filter { $0.hasSuffix(".txt") && !$0.dropLast(4).contains(".") }.map { name in
                Language(code: String(name.dropLast(4)), path: folder + "/" + name, trainingPath: nil)
            }
        }
        languages.sort { $0.code < $1.code }
        guard !languages.isEmpty else {
            throw .unreadableFile(path: folder, reason: "holds no <lang>.heldout.txt or <lang>.txt files")
        }
        if let only {
            var chosen: [Language] = []
            for code in only {
                guard let language = languages.first(where: { $0.code == code }) else {
                    throw .unreadableFile(path: folder + "/" + code + ".txt", reason: "no such language in the corpus; it has \(languages.map(\.code).joined(separator: ", "))")
                }
                chosen.append(language)
            }
            languages = chosen
        }
        self.folder = folder
        self.languages = languages
        self.provenance = Self.readmeParagraph(near: folder)
    }

    /// tokc's own corpus: the `Corpus/split` folder shipped beside the vocabularies.
    public static var shippedFolder: String? {
        VocabularyRegistry.shippedFolder("Corpus", marker: "parallel.tsv", environment: ProcessInfoLite.environment)
    }

    /// The parallel sentences shipped with tokc, `Corpus/parallel.tsv`.
    public static var shippedParallelFile: String? {
        shippedFolder.map { $0 + "/parallel.tsv" }
    }

    /// The first paragraph after the title of `README.md` in `folder` or its parent, joined into one line.
    static func readmeParagraph(near folder: String) -> String {
        for candidate in [folder + "/README.md", folder + "/../README.md"] {
            guard let bytes = try? FileIO.readAll(candidate) else { continue }
            var paragraph: [String] = []
            for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix("#") { continue }
                if line.trimmingCharacters(in: .whitespaces).isEmpty {
                    if paragraph.isEmpty { continue } else { break }
                }
                paragraph.append(line.trimmingCharacters(in: .whitespaces))
            }
            return paragraph.joined(separator: " ")
        }
        return ""
    }
}

/// Sentences with their translations, one row per sentence and one column per language, as `parallel.tsv`:
/// a header `id <lang> <lang> …`, then tab-separated cells in which `\\`, `\t`, `\n` and `\r` stand for a
/// backslash, tab, line feed and carriage return; an empty cell is a missing translation.
public struct ParallelCorpus: Sendable {
    public let path: String
    /// The language columns, in file order (the `id` column is not one).
    public let languages: [String]
    public let rowCount: Int
    /// Of the file's bytes, for the report.
    public let sha256: String
    /// Every cell's unescaped bytes, one after another.
    private let storage: [UInt8]
    /// `cells[language][row]`: the cell's range in `storage`, nil where the translation is missing.
    private let cells: [[Range<Int>?]]

    public init(path: String) throws(TokcError) {
        try self.init(bytes: try FileIO.readAll(path), path: path)
    }

    public init(bytes: [UInt8], path: String) throws(TokcError) {
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        guard let header = lines.first else { throw .malformedFile(path: path, line: 1, expected: "a header row: id, then language codes, tab-separated") }
        let columns = header.split(separator: UInt8(ascii: "\t"), omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        guard columns.count >= 2, columns[0] == "id", !columns.dropFirst().contains(where: \.isEmpty) else {
            throw .malformedFile(path: path, line: 1, expected: "a header row: id, then language codes, tab-separated")
        }
        var storage: [UInt8] = []
        storage.reserveCapacity(bytes.count)
        var cells = [[Range<Int>?]](repeating: [], count: columns.count - 1)
        for (index, line) in lines.enumerated().dropFirst() {
            let fields = line.split(separator: UInt8(ascii: "\t"), omittingEmptySubsequences: false)
            guard fields.count == columns.count else {
                throw .malformedFile(path: path, line: index + 1, expected: "\(columns.count) tab-separated cells, found \(fields.count)")
            }
            for (column, field) in fields.dropFirst().enumerated() {
                guard !field.isEmpty else {
                    cells[column].append(nil)
                    continue
                }
                let start = storage.count
                var escaped = false
                for byte in field {
                    if escaped {
                        switch byte {
                        case UInt8(ascii: "t"): storage.append(0x09)
                        case UInt8(ascii: "n"): storage.append(0x0A)
                        case UInt8(ascii: "r"): storage.append(0x0D)
                        case UInt8(ascii: "\\"): storage.append(UInt8(ascii: "\\"))
                        default: throw .malformedFile(path: path, line: index + 1, expected: "\\\\, \\t, \\n or \\r after a backslash, found \\\(Unicode.Scalar(byte))")
                        }
                        escaped = false
                    } else if byte == UInt8(ascii: "\\") {
                        escaped = true
                    } else {
                        storage.append(byte)
                    }
                }
                if escaped { throw .malformedFile(path: path, line: index + 1, expected: "an escape after the backslash that ends a cell") }
                cells[column].append(start..<storage.count)
            }
        }
        self.path = path
        self.sha256 = VocabularyRegistry.sha256(bytes)
        self.languages = Array(columns.dropFirst())
        self.rowCount = lines.count - 1
        self.storage = storage
        self.cells = cells
    }

    /// Calls `body` with the text of `language` in `row`, or nil where it is missing.
    public func withText<Result>(row: Int, language: Int, _ body: (UnsafeBufferPointer<UInt8>?) -> Result) -> Result {
        guard let range = cells[language][row] else { return body(nil) }
        return storage.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[range])) }
    }

    /// The rows that have a text in `language`.
    public func rowsPresent(language: Int) -> Int {
        cells[language].count { $0 != nil }
    }
}
