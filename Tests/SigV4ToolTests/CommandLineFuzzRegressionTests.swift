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

    @Test("the capture corpus (curl -v, trace dumps, raw) parses within the reader's invariants; the dumps are accepted")
    func capturedRequestCorpus() {
        let inputs = Self.inputs("FuzzCapturedRequest")
        #expect(inputs.count >= 6)
        var accepted = 0
        var refused: [String] = []
        for (name, bytes) in inputs {
            if CommandLineFuzzing.parseCapturedRequest(bytes) {
                accepted += 1
            } else if CapturedRequest.detect(bytes) != .raw {
                refused.append(name)
            }
        }
        // Raw requests (the reader's, not a dump) are not "accepted"; every curl dump is.
        #expect(refused.isEmpty, "curl dump seeds refused: \(refused)")
        #expect(accepted >= 6)
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

    /// FuzzCurlArguments, Fuzz/Regressions/FuzzCurlArguments-dash-in-cluster: a short-option cluster holding a
    /// `-` (`-s-/hInt?`) expanded to `-s`, `--`, `-/`, `-h`, …: the `-` became the `--` terminator and the
    /// letters after it became URLs that were never arguments. curl refuses such a cluster; so does sigv4 now.
    @Test("a short-option cluster containing '-' is refused, not split into '--' and URLs", arguments: [["-s-v", "https://h/"], ["-s-/hInt?"], ["-sS-", "--", "https://h/"]])
    func dashInCluster(arguments: [String]) {
        #expect(throws: CLIError.self) { try CurlArguments.parse(arguments) }
        #expect(!CommandLineFuzzing.parseCurlArguments(arguments))
    }

    /// FuzzCurlArguments, Fuzz/Regressions/FuzzCurlArguments-websocket-url (the CI fuzz smoke, session 35):
    /// `RawURL` takes `ws://` and `wss://` since session 34, but the fuzz entry point's invariant still
    /// allowed only http and https, so an accepted `ws://abH` tripped it. The invariant now names the four.
    @Test("ws:// and wss:// URLs are accepted within the URL parser's invariants", arguments: ["ws://abH", "wss://h:8443/mqtt?x=1", "WS://h"])
    func webSocketURLs(url: String) {
        #expect(CommandLineFuzzing.parseURL(url))
    }

    @Test("clusters still expand: -sSXPOST is -s -S -X POST, -Hname:v takes the rest as the value")
    func clustersExpand() throws {
        let parsed = try CurlArguments.parse(["-sSXPOST", "-Hname:v", "https://h/"])
        #expect(parsed.method == "POST")
        #expect(parsed.headers == ["name:v"])
        #expect(parsed.passthrough == ["--silent", "--show-error"])
        #expect(parsed.urls == ["https://h/"])
    }

    /// Found while reviewing the fuzz target (the fuzzer's inputs stay short): cluster expansion removed the
    /// first character of an array and spliced the argument array once per cluster, both quadratic; a
    /// 128 KiB argument (Linux's per-argument limit) took tens of seconds. The parser now reads clusters from a
    /// queue in linear time.
    @Test("a 100,000-letter cluster expands to 100,000 options")
    func longCluster() throws {
        let parsed = try CurlArguments.parse(["-" + String(repeating: "s", count: 100_000), "https://h/"])
        #expect(parsed.passthrough.count == 100_000)
        #expect(parsed.urls == ["https://h/"])
        let many = try CurlArguments.parse(Array(repeating: "-sS", count: 50_000) + ["-XPUT", "https://h/"])
        #expect(many.passthrough.count == 100_000 && many.method == "PUT")
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

    /// Found by FuzzCredentialsFile (Fuzz/Regressions/FuzzCredentialsFile-profile-spacing): `[profile dev]` and
    /// `[profile  dev]` are different sections naming the same profile, and they were folded in dictionary
    /// order, which differs between two dictionaries with the same contents: the region flipped between runs.
    @Test("two config headers naming one profile fold in file order: the later section's keys win, every time")
    func sameProfileTwoHeaders() throws {
        let config = "[profile dev]\nregion = first\noutput = json\n[profile  dev]\nregion = second\n[profile default]\nregion = pd\n[default]\nregion = d\n"
        for _ in 0..<32 {
            let files = ProfileFiles(credentialsPath: "c", configPath: "f", credentialsText: "", configText: config)
            let dev = try #require(files.settings(for: "dev"))
            #expect(dev["region"] == "second")
            #expect(dev["output"] == "json")
            #expect(files.settings(for: "default")?["region"] == "pd")
        }
        let reversed = ProfileFiles(
            credentialsPath: "c", configPath: "f", credentialsText: "",
            configText: "[profile  dev]\nregion = second\n[profile dev]\nregion = first\n")
        #expect(reversed.settings(for: "dev")?["region"] == "first")
        #expect(ProfileFiles.sections("[b]\nk=1\n[a]\nk=2\n[b]\nk=3\nj=4\n").map(\.name) == ["b", "a"])
        #expect(ProfileFiles.parse("[b]\nk=1\n[a]\nk=2\n[b]\nk=3\n")["b"] == ["k": "3"])
    }

    /// Found by FuzzCredentialsFile (Fuzz/Regressions/FuzzCredentialsFile-prepend-before-equals): the parser looked for
    /// `=` among `Character`s, and a prepended-concatenation mark before it (`\u{600}=`) is one grapheme cluster, so
    /// the `=` was skipped and the key swallowed it. botocore reads code points; so does the parser now.
    @Test("delimiters and line ends are found in the bytes, never hidden inside a grapheme cluster")
    func delimitersInsideGraphemes() {
        let parsed = ProfileFiles.parse("[p]\nk\u{600}= v\na=\u{301}b\nc = x \u{301}# y\nd = 1\re = 2\n[q\u{301}]\nf:3\n")
        #expect(parsed["p"]?["k\u{600}"] == "v")
        #expect(parsed["p"]?["a"] == "\u{301}b")
        #expect(parsed["p"]?["c"] == "x \u{301}# y", "a comment needs whitespace right before the marker")
        #expect(parsed["p"]?["d"] == "1" && parsed["p"]?["e"] == "2", "a lone CR ends a line")
        #expect(parsed["q\u{301}"]?["f"] == "3")
        #expect(parsed["p"]?["c = x"] == nil)
        #expect(ProfileFiles.parse("[p]\nk = #x\nj = y ;z\n")["p"] == ["k": "#x", "j": "y"])
    }
}
