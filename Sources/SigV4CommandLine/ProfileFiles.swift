import Foundation

/// The awscli shared credentials file and config file, parsed as INI.
///
/// `~/.aws/credentials` has `[name]` sections; `~/.aws/config` has `[default]` and
/// `[profile name]` sections. Keys in the credentials file win over the config file,
/// as in awscli.
///
/// ```swift
/// let files = ProfileFiles.load(environment: ProcessInfo.processInfo.environment)
/// let settings = files.settings(for: "dev") // ["aws_access_key_id": "AKID…", "region": "eu-west-1", …]
/// ```
package struct ProfileFiles {
    package var credentialsPath: String
    package var configPath: String
    /// Sections of the credentials file by profile name.
    package var credentials: [String: [String: String]]
    /// Profile sections of the config file by profile name (the `profile ` prefix removed).
    package var config: [String: [String: String]]

    package static func expandTilde(_ path: String, home: String) -> String {
        if path == "~" { return home }
        if path.hasPrefix("~/") { return home + path.dropFirst() }
        return path
    }

    package static func load(environment env: [String: String]) -> ProfileFiles {
        let home = env["HOME"] ?? NSHomeDirectory()
        let credentialsPath = expandTilde(env["AWS_SHARED_CREDENTIALS_FILE"] ?? "~/.aws/credentials", home: home)
        let configPath = expandTilde(env["AWS_CONFIG_FILE"] ?? "~/.aws/config", home: home)
        return ProfileFiles(
            credentialsPath: credentialsPath, configPath: configPath,
            credentials: parse(text(of: credentialsPath)), configSections: sections(text(of: configPath)))
    }

    /// The files from their text (``load(environment:)`` reads them from disk).
    package init(credentialsPath: String, configPath: String, credentialsText: String, configText: String) {
        self.init(
            credentialsPath: credentialsPath, configPath: configPath, credentials: Self.parse(credentialsText),
            configSections: Self.sections(configText))
    }

    /// Keeps the config file's `[default]` and `[profile name]` sections, by profile name. The
    /// sections are folded in file order, so when two headers name the same profile (`[profile dev]`
    /// and `[profile  dev]`) the later one's keys win, whatever order a dictionary would give.
    /// `[profile default]` wins over `[default]` wherever it stands.
    init(
        credentialsPath: String, configPath: String, credentials credentialSections: [String: [String: String]],
        configSections: [Section]
    ) {
        var config: [String: [String: String]] = [:]
        for (name, values) in configSections {
            if name == "default" {
                config["default", default: [:]].merge(values) { old, _ in old }
            } else if name.hasPrefix("profile ") {
                let profile = name.dropFirst("profile ".count).trimmingCharacters(in: .whitespaces)
                config[profile, default: [:]].merge(values) { _, new in new }
            }
        }
        self.credentialsPath = credentialsPath
        self.configPath = configPath
        self.credentials = credentialSections
        self.config = config
    }

    /// Every setting for `profile`: config-file values overlaid with credentials-file values.
    package func settings(for profile: String) -> [String: String]? {
        let fromConfig = config[profile]
        let fromCredentials = credentials[profile]
        if fromConfig == nil && fromCredentials == nil { return nil }
        var merged = fromConfig ?? [:]
        merged.merge(fromCredentials ?? [:]) { _, new in new }
        return merged
    }

    /// Where `profile`'s access key comes from, for `--verbose`.
    package func location(of profile: String) -> String {
        if credentials[profile]?["aws_access_key_id"] != nil { return credentialsPath }
        return configPath
    }

    /// One INI section: its trimmed name and its keys (repeated headers of the same name merged).
    package typealias Section = (name: String, values: [String: String])

    /// The text of the file at `path`, empty when it cannot be read.
    static func text(of path: String) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Parses INI text into sections by name: `[section]` headers, `key = value` lines, `#`/`;`
    /// comment lines. A line indented more than the key line above it continues that key's value, as in
    /// botocore's `configparser` (awscli nested settings such as `s3 =` blocks), and is skipped; any other
    /// indented line is read like an unindented one, so keys indented under their section are keys.
    ///
    /// ```swift
    /// ProfileFiles.parse("[dev]\nregion = eu-west-1\n") // ["dev": ["region": "eu-west-1"]]
    /// ```
    package static func parse(_ text: String) -> [String: [String: String]] {
        Dictionary(sections(text), uniquingKeysWith: { first, _ in first })
    }

    /// The sections of INI text in the order their names first appear; a repeated header adds to
    /// its first section, later keys winning.
    ///
    /// The structure (line ends, brackets, `=`/`:`, comment markers) is read from the UTF-8 bytes, as
    /// botocore's `configparser` reads code points: a delimiter is never hidden inside a grapheme
    /// cluster (`\u{600}=` is one `Character` but holds an `=`). Lines end at LF, CR or CRLF
    /// (Python's universal newlines). A UTF-8 byte order mark at the start is skipped (botocore refuses
    /// the whole file; a profile that silently vanished was the worse answer).
    package static func sections(_ text: String) -> [Section] {
        var sections: [Section] = []
        var position: [String: Int] = [:]
        var current: Int?
        // configparser's continuation rule: after a key line, a line indented more than the last key or
        // header line continues the key's value. Blank and comment lines change nothing.
        var indentLevel = 0
        var afterKey = false
        let bytes = Array(text.utf8)
        var start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        while start < bytes.count {
            var end = start
            while end < bytes.count, bytes[end] != 0x0A, bytes[end] != 0x0D { end += 1 }
            defer { start = end + 1 }
            var indent = start
            while indent < end, bytes[indent] == 0x20 || bytes[indent] == 0x09 { indent += 1 }
            let line = Array(trimmed(bytes[start..<end]).utf8)
            guard let first = line.first, first != UInt8(ascii: "#"), first != UInt8(ascii: ";") else { continue }
            // A continuation line (a nested `s3 =` setting, or more of a value): skipped.
            if afterKey && indent - start > indentLevel { continue }
            indentLevel = indent - start
            if first == UInt8(ascii: "[") {
                afterKey = false
                guard let close = line.lastIndex(of: UInt8(ascii: "]")) else { current = nil; continue }
                let name = trimmed(line[1..<close])
                if let known = position[name] {
                    current = known
                } else {
                    position[name] = sections.count
                    current = sections.count
                    sections.append((name, [:]))
                }
                continue
            }
            guard let section = current,
                let eq = line.firstIndex(where: { $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: ":") })
            else { continue }
            afterKey = true
            let key = trimmed(line[..<eq]).lowercased()
            var value = Array(trimmed(line[(eq + 1)...]).utf8)[...]
            // An inline comment after whitespace (`region = us-east-1 # note`) is dropped. botocore 1.43
            // keeps it as part of the value (`us-east-1 # note`, which then fails as a region); dropping
            // it is the lenient reading, and no access key id, secret or region holds ` #` or ` ;`.
            if let cut = value.indices.first(where: { i in
                (value[i] == 0x20 || value[i] == 0x09) && i + 1 < value.endIndex
                    && (value[i + 1] == UInt8(ascii: "#") || value[i + 1] == UInt8(ascii: ";"))
            }) {
                value = value[..<cut]
            }
            sections[section].values[key] = trimmed(value)
        }
        return sections
    }

    /// `bytes` (whole UTF-8 sequences) as a `String` without surrounding whitespace.
    static func trimmed(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespaces)
    }
}
