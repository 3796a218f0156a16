import Foundation
import Testing

@testable import LumenfallCore

@Suite struct ErrorTextTests {
    @Test func foundationErrorsBecomeTheSystemsWords() {
        let cocoa = NSError(domain: NSCocoaErrorDomain, code: NSFileWriteFileExistsError)
        #expect(ErrorText.describe(cocoa) == "a file is in the way")
        let posix = NSError(domain: NSPOSIXErrorDomain, code: Int(ENOSPC))
        #expect(ErrorText.describe(posix) == String(cString: strerror(ENOSPC)))
        let wrapped = NSError(domain: NSCocoaErrorDomain, code: 512, userInfo: [NSUnderlyingErrorKey: posix])
        #expect(ErrorText.describe(wrapped) == String(cString: strerror(ENOSPC)))
        #expect(ErrorText.describe(NSError(domain: "Elsewhere", code: 7)) == "an unexpected error (Elsewhere 7)")
    }

    @Test func ourErrorsKeepTheirTextAndDumpsAreNamed() {
        #expect(ErrorText.describe(APIError.malformed("html")) == "unexpected answer: html")
        enum Dumped: Error { case http(status: Int, code: String?) }
        #expect(ErrorText.describe(Dumped.http(status: 404, code: "X")) == "an unexpected error (Dumped)")
        #expect(ErrorText.looksDumped("http(status: 404, code: Optional(\"NOT_FOUND\"))"))
        #expect(ErrorText.looksDumped("The operation could not be completed. (NSCocoaErrorDomain error 512.)"))
        #expect(!ErrorText.looksDumped("cannot open a.tar: No such file or directory"))
        #expect(!ErrorText.looksDumped("the API refused the request (HTTP 404: NOT_FOUND: no route)"))
    }
}
