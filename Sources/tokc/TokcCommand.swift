import ArgumentParser
import Tokc
import TokcClient
import TokcServer

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The root command. Exit status: 0 success, 1 usage error, 2 bad input (unreadable file, malformed
/// vocabulary, unknown name, bad ids); errors are one line on stderr.
struct TokcCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokc",
        abstract: "Exact token counts, encodings and vocabularies for LLM tokenizers.",
        version: "0.1.0",
        subcommands: [CountCommand.self, EncodeCommand.self, DecodeCommand.self, CostCommand.self, TrainCommand.self, CompareCommand.self, ServeCommand.self, VocabCommand.self]
    )
}

@main
enum Main {
    static func main() async {
        do {
            var command = try TokcCommand.parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch let error as TokcError {
            fail(error.description, status: 2)
        } catch let error as TokcClientError {
            fail(error.description, status: 2)
        } catch let error as ServerError {
            fail(error.description, status: 2)
        } catch let error as OutputError {
            fail(error.description, status: 2)
        } catch {
            let status = TokcCommand.exitCode(for: error)
            if status == .success {
                print(TokcCommand.fullMessage(for: error))
                exit(0)
            }
            if status.rawValue != ExitCode.validationFailure.rawValue && status != .failure {
                exit(status.rawValue)  // an ExitCode a command chose to throw
            }
            let message = TokcCommand.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid usage"
            fail(message + " (see 'tokc help')", status: 1)
        }
    }

    static func fail(_ message: String, status: Int32) -> Never {
        Output.flush()
        try? Output.writeAll(Array("tokc: error: \(message)\n".utf8), to: STDERR_FILENO)
        exit(status)
    }
}
