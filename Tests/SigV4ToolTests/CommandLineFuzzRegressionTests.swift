import Foundation
@_spi(Fuzzing) import SigV4CommandLine
import Testing

/// The seed corpora and saved findings of the command-line fuzz targets (`Fuzz/Corpus/FuzzCurlArguments`,
/// `Fuzz/Corpus/FuzzCredentialsFile`, `Fuzz/Regressions/`), replayed through the same entry points and
/// invariants as the fuzzers, so the invariants hold in every `swift test`. Docs/Assurance.md lists the findings.
@Suite("command-line parsers: fuzz corpora and regressions")
struct CommandLineFuzzRegressionTests {
    static let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz")

    /// Every input of one target: its seed corpus and its saved regressions.
    static func inputs(_ target: String) -> [(String, [UInt8])] {
        var out: [(String, [UInt8])] = []
        let corpus = fuzz.appendingPathComponent("Corpus/\(target)")
        for name in (try? FileManager.default.contentsOfDirectory(atPath: corpus.path))?.sorted() ?? [] {
            out.append((name, [UInt8](FileManager.default.contents(atPath: corpus.appendingPathComponent(name).path) ?? Data())))
        }
        let regressions = fuzz.appendingPathComponent("Regressions")
        for name in (try? FileManager.default.contentsOfDirectory(atPath: regressions.path))?.sorted() ?? []
        where name.hasPrefix(target + "-") {
            out.append((name, [UInt8](FileManager.default.contents(atPath: regressions.appendingPathComponent(name).path) ?? Data())))
        }
        return out
    }

    /// The fuzz target's input split: NUL-separated parts.
    static func parts(_ bytes: [UInt8], maxSplits: Int = .max) -> [String] {
        bytes.split(separator: 0, maxSplits: maxSplits, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test("the curl argument corpus parses within the parser's invariants; the accepted seeds stay accepted")
    func curlCorpus() {
        let inputs = Self.inputs("FuzzCurlArguments")
        #expect(inputs.count >= 10)
        var accepted = 0
        for (_, bytes) in inputs where CommandLineFuzzing.parseCurlArguments(Self.parts(bytes)) { accepted += 1 }
        #expect(accepted >= 8, "most seeds are valid curl command lines")
    }

    @Test("the credentials and config corpus parses within the parser's invariants")
    func credentialsCorpus() {
        let inputs = Self.inputs("FuzzCredentialsFile")
        #expect(inputs.count >= 5)
        var resolved = 0
        for (_, bytes) in inputs {
            let p = Self.parts(bytes, maxSplits: 2)
            let settings = CommandLineFuzzing.resolveProfile(
                credentials: p.count > 0 ? p[0] : "", config: p.count > 1 ? p[1] : "", profile: p.count > 2 ? p[2] : "default")
            if settings > 0 { resolved += 1 }
        }
        #expect(resolved >= 4, "most seeds name a profile that exists")
    }

    @Test("the seed profiles resolve as awscli does: credentials file over config file, nested blocks skipped")
    func profileResolution() throws {
        let credentials = "[dev]\r\naws_access_key_id=AKIDDEV\r\naws_secret_access_key = s3cr3t ; comment\r\n"
        let config = "[profile dev]\nregion: eu-west-1 # inline\naws_access_key_id = AKIDCONFIG\ns3 =\n  addressing_style = path\n[profile  spaced ]\nregion=ap-south-1\n"
        let files = ProfileFiles(credentialsPath: "c", configPath: "f", credentialsText: credentials, configText: config)
        let dev = try #require(files.settings(for: "dev"))
        #expect(dev["aws_access_key_id"] == "AKIDDEV")
        #expect(dev["aws_secret_access_key"] == "s3cr3t")
        #expect(dev["region"] == "eu-west-1")
        #expect(dev["s3"] == "")
        #expect(dev["addressing_style"] == nil)
        #expect(files.location(of: "dev") == "c")
        #expect(files.settings(for: "spaced")?["region"] == "ap-south-1")
        #expect(files.settings(for: "missing") == nil)
    }
}
