import Foundation
import Tokc

/// `ProgressLine` for a count that reads bytes: bytes done, MB/s and, when the input's size is known, the
/// percentage and the time left (against the file's own position, compressed for gzip). Terminal only, as
/// `ProgressLine` is; nothing is drawn for a count that takes under half a second.
final class ByteProgress {
    private let line = ProgressLine()
    private let start = ContinuousClock.now

    func update(_ name: String, done: Int, stream: ByteStream) {
        let elapsed = ContinuousClock.now - start
        guard elapsed > .milliseconds(500) else { return }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        var text = "\(name): " + String(format: "%.1f MB, %.1f MB/s", Double(done) / 1e6, Double(done) / 1e6 / seconds)
        if let size = stream.fileSize, size > 0 {
            let fraction = min(1, Double(stream.fileBytesRead) / Double(size))
            text += String(format: ", %.0f%%", fraction * 100)
            if fraction > 0.01 {
                let left = Int(seconds / fraction - seconds)
                text += String(format: ", %d:%02d left", left / 60, left % 60)
            }
        }
        line.show(text)
    }

    func finish() { line.clear() }
}
