import Foundation
import Testing

@testable import LumenfallSandbox

/// The sandbox's router is a pure function of the request: no job, no lock, no clock.
@Suite struct SandboxRouterTests {
    let key = "lmnfl_test"

    func route(_ method: String, _ uri: String, key: String? = "lmnfl_test", offersList: Bool = true) -> SandboxRoute {
        let headers = key.map { [("Authorization", "Bearer \($0)")] } ?? []
        return SandboxRoute.of(
            SandboxRequest(method: method, uri: uri, headers: headers, body: []), apiKey: self.key, offersList: offersList)
    }

    @Test func theAPIsPathsNeedTheKey() {
        #expect(route("GET", "/openai/v1/videos/video_1") == .retrieve(id: "video_1"))
        #expect(route("POST", "/openai/v1/videos") == .create)
        #expect(route("GET", "/openai/v1/videos?limit=5") == .list)
        #expect(route("DELETE", "/openai/v1/videos/video_1") == .delete(id: "video_1"))
        guard case .unauthorized = route("GET", "/openai/v1/videos/video_1", key: "wrong"),
            case .unauthorized = route("GET", "/v1/webhooks/secret", key: nil)
        else {
            Issue.record("a wrong or missing key is refused before any job is looked at")
            return
        }
        #expect(route("GET", "/v1/webhooks/secret") == .webhookSecret)
    }

    @Test func contentVariantsAndTheListAreRoutedByQueryAndServer() {
        #expect(route("GET", "/openai/v1/videos/v/content") == .content(id: "v"))
        #expect(route("GET", "/openai/v1/videos/v/content?variant=video") == .content(id: "v"))
        #expect(route("GET", "/openai/v1/videos/v/content?variant=thumbnail") == .preview(id: "v", variant: "thumbnail"))
        #expect(route("GET", "/openai/v1/videos/v/content?variant=spritesheet") == .preview(id: "v", variant: "spritesheet"))
        #expect(route("GET", "/openai/v1/videos/v/content?variant=nope") == .badVariant)
        guard case .notFound = route("GET", "/openai/v1/videos", offersList: false) else {
            Issue.record("a server without GET /videos says so with a 404")
            return
        }
    }

    @Test func mediaPathsNeedNoKeyAndOnlyTheirShape() {
        #expect(route("GET", "/media/v/0.mp4?expires=1", key: nil) == .media(id: "v", file: "0.mp4", redirected: false))
        #expect(route("GET", "/media/redirect/v/0.mp4", key: nil) == .media(id: "v", file: "0.mp4", redirected: true))
        #expect(route("GET", "/media/v", key: nil) == .mediaNotFound)
        #expect(route("GET", "/media/a/b/c", key: nil) == .mediaNotFound)
        #expect(route("GET", "/health", key: nil) == .health)
        #expect(route("POST", "/sandbox/jobs?count=3", key: nil) == .createMany)
        #expect(route("POST", "/sandbox/jobs?count=3", key: nil).createsJobs)
        #expect(!route("GET", "/openai/v1/videos/v").createsJobs)
    }

    @Test func rangeHeadersAreReadAsRFC9110HasThem() {
        #expect(RangeHeader.parse("bytes=5-")! == (5, nil))
        #expect(RangeHeader.parse("bytes=5-9")! == (5, 9))
        #expect(RangeHeader.parse("bytes=9-5") == nil)
        #expect(RangeHeader.parse("bytes=-5") == nil, "suffix ranges get the whole file")
        #expect(RangeHeader.parse("bytes=0-1,5-6") == nil, "lists get the whole file")
        #expect(RangeHeader.parse("items=0-1") == nil)
    }
}
