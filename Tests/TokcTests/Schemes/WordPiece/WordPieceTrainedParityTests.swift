import Foundation
import Testing
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

    @Test(.enabled(if: TrainedParityTests.withTokenizers != nil, "python3 with the tokenizers package is not installed (pip install tokenizers); skipped"))
    func tokenizerJSONGivesTheSameIdsInTokenizers() throws {
        let model = try Self.model.get()
        #expect(model.encoder.idLimit == 8_000)
        let script = """
            import json, sys
            from tokenizers import Tokenizer
            tok = Tokenizer.from_file(sys.argv[1])
            for path in sys.argv[2:]:
                for line in open(path, encoding="utf-8").read().split("\\n")[:-1]:
                    print(json.dumps(tok.encode(line, add_special_tokens=False).ids))
            """
        try TrainedParityTests.compare(
            python: TrainedParityTests.withTokenizers, script: script, vocabulary: try model.serialize(format: "tokenizer.json"),
            tokenizer: try model.tokenizer(name: "trained"), reference: "tokenizers (tokenizer.json)")
    }

    @Test(.enabled(if: TrainedParityTests.withTokenizers != nil, "python3 with the tokenizers package is not installed (pip install tokenizers); skipped"))
    func vocabTextGivesTheSameIdsInBertWordPieceTokenizer() throws {
        let model = try Self.model.get()
        let script = """
            import json, sys
            from tokenizers import BertWordPieceTokenizer
            tok = BertWordPieceTokenizer(sys.argv[1], lowercase=True)
            for path in sys.argv[2:]:
                for line in open(path, encoding="utf-8").read().split("\\n")[:-1]:
                    print(json.dumps(tok.encode(line, add_special_tokens=False).ids))
            """
        try TrainedParityTests.compare(
            python: TrainedParityTests.withTokenizers, script: script, vocabulary: try model.serialize(format: "vocab.txt"),
            tokenizer: try model.tokenizer(name: "trained"), reference: "tokenizers (vocab.txt)")
    }
}
