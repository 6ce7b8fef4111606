import Foundation
import HTTPTypes
import SigV4
import SigV4TestSupport
import SigV4Verifier
import Testing

/// Presigned requests without `X-Amz-Expires`: the AWS IoT Device SDKs presign their MQTT-over-WebSocket
/// handshake so (awscrt's aws-c-auth with the SDK's signing config), and AWS IoT takes it. The cases are
/// handshakes awscrt signed (`scripts/gen-awscrt-iot-websocket-vectors.py`,
/// `TestVectors/awscrt-iot-websocket`): for `iotdevicegateway` they verify within the skew window, once
/// (the replay guard holds them as header signatures); past the window they are `RequestTimeTooSkewed`;
/// for any other service, or with the policy's set emptied, `AuthorizationQueryParametersError`.
@Suite("presigned without X-Amz-Expires: AWS IoT's WebSocket handshakes, signed by awscrt")
struct PresignWithoutExpiresTests {
    struct Case {
        var request: VerificationRequest
        var credential: ResolvedCredential
        var service: String
        var date: AmzDate
    }

    static let cases: [Case] = {
        let data = try! Data(contentsOf: Vectors.url("awscrt-iot-websocket/cases.json"))
        let root = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        return (root["cases"] as! [[String: Any]]).map { c in
            let headers = (c["headers"] as! [[String]]).map { ($0[0], $0[1]) }
            return Case(
                request: VerificationRequest(method: "GET", target: c["target"] as! String, headers: headers),
                credential: ResolvedCredential(
                    accessKeyID: c["access_key_id"] as! String,
                    secretAccessKey: SecretAccessKey(c["secret_access_key"] as! String), principal: "device",
                    sessionToken: c["session_token"] as? String),
                service: c["service"] as! String,
                date: try! AmzDate(iso8601Basic: c["date"] as! String))
        }
    }()

    static func verify(_ c: Case, now: AmzDate, policy: VerificationPolicy = .default, guard replayGuard: InMemoryReplayGuard? = nil)
        async -> VerificationResult
    {
        let verifier = Verifier(resolver: InMemoryCredentialResolver([c.credential]), policy: policy, replayGuard: replayGuard)
        return await verifier.verify(c.request, payload: .body([]), now: now)
    }

    @Test("awscrt's IoT handshakes verify within the skew window and carry no lifetime of their own; the same handshake again is RequestReplayed")
    func iotHandshakesVerifyOnce() async throws {
        let iot = Self.cases.filter { $0.service == "iotdevicegateway" }
        #expect(iot.count >= 30 && iot.contains { $0.credential.sessionToken != nil })
        for c in iot {
            for offset: Int64 in [-900, 0, 600, 900] {
                let result = await Self.verify(c, now: c.date.adding(seconds: offset))
                guard case .accepted(let verified) = result else {
                    Issue.record("\(c.request.target) at \(offset) s: \(result)")
                    continue
                }
                #expect(verified.isPresigned && verified.expires == nil)
            }
            let replayGuard = InMemoryReplayGuard()
            let first = await Self.verify(c, now: c.date.adding(seconds: 5), guard: replayGuard)
            #expect(first.isAccepted)
            guard case .rejected(let again) = await Self.verify(c, now: c.date.adding(seconds: 6), guard: replayGuard) else {
                Issue.record("a replayed handshake was accepted: \(c.request.target)")
                continue
            }
            #expect(again.code == .requestReplayed)
        }
    }

    @Test("past the skew window either way such a handshake is RequestTimeTooSkewed, as a header signature is")
    func outsideTheWindow() async throws {
        for c in Self.cases where c.service == "iotdevicegateway" {
            for offset: Int64 in [-901, 901, 86_400] {
                guard case .rejected(let failure) = await Self.verify(c, now: c.date.adding(seconds: offset)) else {
                    Issue.record("accepted \(offset) s away: \(c.request.target)")
                    continue
                }
                #expect(failure.code == .requestTimeTooSkewed, "\(failure)")
            }
        }
    }

    @Test("a presign parameter whose name is percent-encoded is refused: X-Amz-%45xpires, which the signature reads as X-Amz-Expires, does not turn an expiring IoT URL into one the skew window alone checks", arguments: [
        ("X-Amz-Expires=", "X-Amz-%45xpires="), ("X-Amz-Expires=", "%58-Amz-Expires="),
        ("X-Amz-Date=", "X-Amz-D%61te="),
        ("X-Amz-Signature=", "X-Amz-Signatur%65="),
    ])
    func percentEncodedPresignNamesAreRefused(plain: String, encoded: String) async throws {
        let signer = Signer(
            credentials: Credentials(accessKeyID: "AKIDDEVICE", secretAccessKey: "device-secret-0123456789"),
            region: "us-east-1", service: "iotdevicegateway", keyCache: nil)
        let date = try AmzDate(iso8601Basic: "20261205T120000Z")
        let url = try signer.presign(
            HTTPRequest(
                method: .get, scheme: "https", authority: "example-ats.iot.us-east-1.amazonaws.com", path: "/mqtt"),
            expires: 60, at: date)
        let target = try #require(url.request.path)
        #expect(target.contains(plain))
        let credential = ResolvedCredential(
            accessKeyID: "AKIDDEVICE", secretAccessKey: SecretAccessKey("device-secret-0123456789"),
            principal: "device")
        let verifier = Verifier(resolver: InMemoryCredentialResolver([credential]))
        let host = [("Host", "example-ats.iot.us-east-1.amazonaws.com")]
        let signedAsIs = VerificationRequest(method: "GET", target: target, headers: host)
        #expect(await verifier.verify(signedAsIs, payload: .body([]), now: date).isAccepted)
        let late = await verifier.verify(signedAsIs, payload: .body([]), now: date.adding(seconds: 600))
        #expect(late.code == "AccessDenied")
        let changed = VerificationRequest(
            method: "GET", target: target.replacingOccurrences(of: plain, with: encoded), headers: host)
        for now in [date, date.adding(seconds: 600)] {
            let result = await verifier.verify(changed, payload: .body([]), now: now)
            #expect(result.code == "AuthorizationQueryParametersError", "\(encoded): \(result)")
            #expect(result.failure?.message.contains("must not be percent-encoded") == true, "\(result)")
        }
    }

    @Test("for another service, or with presignWithoutExpires emptied, a missing X-Amz-Expires is AuthorizationQueryParametersError; with the service added it verifies")
    func onlyForNamedServices() async throws {
        let others = Self.cases.filter { $0.service != "iotdevicegateway" }
        #expect(!others.isEmpty)
        var adding = VerificationPolicy()
        adding.presignWithoutExpires.insert("execute-api")
        for c in others {
            guard case .rejected(let failure) = await Self.verify(c, now: c.date) else {
                Issue.record("accepted without X-Amz-Expires for \(c.service)")
                continue
            }
            #expect(failure.code == .authorizationQueryParametersError, "\(failure)")
            let added = await Self.verify(c, now: c.date, policy: adding)
            #expect(added.isAccepted, "\(added)")
        }
        var none = VerificationPolicy()
        none.presignWithoutExpires = []
        let iot = try #require(Self.cases.first { $0.service == "iotdevicegateway" })
        guard case .rejected(let failure) = await Self.verify(iot, now: iot.date, policy: none) else {
            Issue.record("accepted with presignWithoutExpires empty")
            return
        }
        #expect(failure.code == .authorizationQueryParametersError)
    }

    @Test("a key whose presigned lifetime is limited below the skew window refuses such handshakes (their lifetime is the window)")
    func keyLifetimeLimit() async throws {
        let c = try #require(Self.cases.first { $0.service == "iotdevicegateway" && $0.credential.sessionToken == nil })
        var limited = c
        limited.credential = ResolvedCredential(
            accessKeyID: c.credential.accessKeyID, secretAccessKey: c.credential.secretAccessKey, principal: "device",
            scope: KeyScope(maxPresignLifetime: 300))
        #expect(!(await Self.verify(limited, now: c.date)).isAccepted)
        limited.credential = ResolvedCredential(
            accessKeyID: c.credential.accessKeyID, secretAccessKey: c.credential.secretAccessKey, principal: "device",
            scope: KeyScope(maxPresignLifetime: 900))
        #expect(await Self.verify(limited, now: c.date).isAccepted)
    }
}
