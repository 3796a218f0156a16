import Foundation
import Testing

@testable import LumenfallCore

func video(_ status: String, extra: String = "") -> VideoObject {
    let json = "{\"id\":\"video_1\",\"status\":\"\(status)\"\(extra)}"
    return try! VideoObject(json: Array(json.utf8))
}
