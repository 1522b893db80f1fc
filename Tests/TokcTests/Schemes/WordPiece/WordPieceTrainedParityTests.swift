import Foundation
import Testing
import TokcTestSupport
@testable import Tokc

/// A WordPiece vocabulary trained by tokc (8,000 tokens on Corpus/split) loads in Python `tokenizers` and gives
/// exactly tokc's ids on every held-out line of every language: as tokc's `tokenizer.json`, and as `vocab.txt`
/// under `BertWordPieceTokenizer` (BERT's uncased pipeline). Skipped, with a message, without the package.
@Suite struct WordPieceTrainedParityTests {
    static let model: Result<TrainedWordPiece, TokcError> = Result { () throws(TokcError) in
        var trainer = try WordPieceTrainer(options: .init(vocabSize: 8_000))
        for language in TrainedParityTests.languages { try trainer.add(file: TrainedParityTests.split + "\(language).train.txt") }
        return try trainer.train { _ in }
    }

    /// Python that loads the vocabulary file with `loader` and prints the ids of every held-out line.
    static func script(loading loader: String) -> String {
        """
        import json, sys
        from tokenizers import Tokenizer, BertWordPieceTokenizer
        tok = \(loader)
        for path in sys.argv[2:]:
            for line in open(path, encoding="utf-8").read().split("\\n")[:-1]:
                print(json.dumps(tok.encode(line, add_special_tokens=False).ids))
        """
    }

    @Test(.enabled(if: References.tokenizers.shouldRun, "no python3 with tokenizers: `python3 scripts/reference_venv.py` makes the pinned reference environment"))
    func tokenizerJSONGivesTheSameIdsInTokenizers() throws {
        let model = try Self.model.get()
        #expect(model.encoder.idLimit == 8_000)
        try TrainedParityTests.compare(
            python: try References.tokenizers.executable(), script: Self.script(loading: "Tokenizer.from_file(sys.argv[1])"),
            vocabulary: try model.serialize(format: "tokenizer.json"),
            tokenizer: try model.tokenizer(name: "trained"), reference: "tokenizers (tokenizer.json)")
    }

    @Test(.enabled(if: References.tokenizers.shouldRun, "no python3 with tokenizers: `python3 scripts/reference_venv.py` makes the pinned reference environment"))
    func vocabTextGivesTheSameIdsInBertWordPieceTokenizer() throws {
        let model = try Self.model.get()
        try TrainedParityTests.compare(
            python: try References.tokenizers.executable(), script: Self.script(loading: "BertWordPieceTokenizer(sys.argv[1], lowercase=True)"),
            vocabulary: try model.serialize(format: "vocab.txt"),
            tokenizer: try model.tokenizer(name: "trained"), reference: "tokenizers (vocab.txt)")
    }
}
