#ifndef LUMENFALL_CCURL_SHIM_H
#define LUMENFALL_CCURL_SHIM_H

// libcurl's setopt/getinfo are variadic, which Swift cannot call. These typed, non-variadic
// wrappers are the only way Swift reaches them (the same approach swift-corelibs-foundation
// takes in _CFURLSessionInterface).
#include <curl/curl.h>

typedef size_t (*lf_data_callback)(char *ptr, size_t size, size_t nmemb, void *userdata);

static inline CURLcode lf_easy_setopt_long(CURL *h, CURLoption o, long v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode lf_easy_setopt_off(CURL *h, CURLoption o, curl_off_t v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode lf_easy_setopt_string(CURL *h, CURLoption o, const char *v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode lf_easy_setopt_pointer(CURL *h, CURLoption o, void *v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode lf_easy_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode lf_easy_setopt_data_callback(CURL *h, CURLoption o, lf_data_callback cb) {
    return curl_easy_setopt(h, o, cb);
}
static inline CURLcode lf_easy_getinfo_long(CURL *h, CURLINFO i, long *v) {
    return curl_easy_getinfo(h, i, v);
}
static inline CURLcode lf_easy_getinfo_string(CURL *h, CURLINFO i, char **v) {
    return curl_easy_getinfo(h, i, v);
}
static inline CURLcode lf_easy_getinfo_off(CURL *h, CURLINFO i, curl_off_t *v) {
    return curl_easy_getinfo(h, i, v);
}
static inline CURLcode lf_easy_getinfo_pointer(CURL *h, CURLINFO i, void **v) {
    return curl_easy_getinfo(h, i, v);
}
// Composite macros Swift cannot import.
static inline size_t lf_writefunc_pause(void) { return CURL_WRITEFUNC_PAUSE; }
static inline size_t lf_readfunc_abort(void) { return CURL_READFUNC_ABORT; }
static inline CURLcode lf_easy_unpause(CURL *h) { return curl_easy_pause(h, CURLPAUSE_CONT); }
// CURLMsg.data is a union; reading it from C keeps Swift away from the layout.
static inline CURLcode lf_msg_result(CURLMsg *m) { return m->data.result; }

#endif
