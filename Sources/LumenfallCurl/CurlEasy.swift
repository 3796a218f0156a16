import CCurl

/// libcurl must be initialised once per process before any other call, and not concurrently.
let curlGlobalInit: Void = {
    _ = curl_global_init(Int(CURL_GLOBAL_ALL))
}()

/// Owns one `CURL *` and the C memory it points at; frees both in deinit. Confined to the loop
/// thread, which creates, configures and frees it (as FoundationNetworking's EasyHandle is
/// confined to its multi handle's queue): not Sendable, on purpose.
final class CurlEasy {
    let handle: UnsafeMutableRawPointer
    private var headerList: UnsafeMutablePointer<curl_slist>?
    /// CURLOPT_ERRORBUFFER must outlive the transfer: libcurl writes the detail there.
    let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)

    init() throws {
        _ = curlGlobalInit
        guard let h = curl_easy_init() else {
            throw CurlError(code: Int(CURLE_FAILED_INIT.rawValue), message: "curl_easy_init failed")
        }
        handle = h
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        try set(CURLOPT_ERRORBUFFER, pointer: UnsafeMutableRawPointer(errorBuffer))
    }

    deinit {
        curl_easy_cleanup(handle)
        if let list = headerList { curl_slist_free_all(list) }
        errorBuffer.deallocate()
    }

    var errorDetail: String { String(cString: errorBuffer) }

    private func check(_ code: CURLcode) throws {
        if code != CURLE_OK { throw CurlError(code, detail: errorDetail) }
    }

    func set(_ option: CURLoption, _ value: Int) throws {
        try check(lf_easy_setopt_long(handle, option, value))
    }
    func set(_ option: CURLoption, offset value: Int64) throws {
        try check(lf_easy_setopt_off(handle, option, curl_off_t(value)))
    }
    /// libcurl copies string options (since 7.17), so the Swift string may go away after.
    func set(_ option: CURLoption, _ value: String) throws {
        try check(value.withCString { lf_easy_setopt_string(handle, option, $0) })
    }
    func set(_ option: CURLoption, pointer value: UnsafeMutableRawPointer?) throws {
        try check(lf_easy_setopt_pointer(handle, option, value))
    }
    func set(_ option: CURLoption, callback: lf_data_callback) throws {
        try check(lf_easy_setopt_data_callback(handle, option, callback))
    }
    func setHeaders(_ lines: [String]) throws {
        var list: UnsafeMutablePointer<curl_slist>?
        for line in lines {
            guard let next = curl_slist_append(list, line) else {
                if let list { curl_slist_free_all(list) }
                throw CurlError(code: Int(CURLE_OUT_OF_MEMORY.rawValue), message: "curl_slist_append failed")
            }
            list = next
        }
        try check(lf_easy_setopt_slist(handle, CURLOPT_HTTPHEADER, list))
        if let old = headerList { curl_slist_free_all(old) }
        headerList = list
    }

    func infoLong(_ info: CURLINFO) -> Int {
        var v: Int = 0
        _ = lf_easy_getinfo_long(handle, info, &v)
        return v
    }
    func infoString(_ info: CURLINFO) -> String? {
        var p: UnsafeMutablePointer<CChar>?
        guard lf_easy_getinfo_string(handle, info, &p) == CURLE_OK, let p else { return nil }
        return String(cString: p)
    }
}

@available(*, unavailable)
extension CurlEasy: Sendable {}
