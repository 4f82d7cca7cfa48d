// noggin/core/status.hpp — how noggin reports runtime failures: status, result<T>, str().
//
// Every operation that can fail on input (a file, a device, memory) returns a `status` or a
// `result<T>`; noggin never throws, never aborts and never prints. A failed object stays valid to
// query and destroy.
//
//     noggin::result<noggin::gguf::file> f = noggin::gguf::file::open("model.gguf");
//     if (!f.ok()) { log(f.status().message()); return; }
//     use(f.value());
//
// Sections: status_code · status · result<T> · str() (message building) · NOGGIN_TRY
#pragma once

#include <cstdint>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "config.hpp"

namespace noggin {

// What kind of failure happened; the message says exactly what and where.
enum class status_code : int {
    ok = 0,
    invalid_argument,  // the caller passed something unusable (null buffer, zero size, bad option)
    io_error,          // open/read/map failed
    format_error,      // bytes are not a valid file of the expected format (truncated, hostile)
    unsupported,       // valid but not supported here (unknown architecture, dtype, version)
    out_of_memory,     // an allocation failed or would exceed a configured cap
    out_of_range,      // an index, position or length beyond what the object holds
    limit_exceeded,    // a safety cap (string length, recursion depth, context size) was reached
    device_error,      // the GPU backend failed (no loader, no device, device lost)
    cancelled,         // the host asked to stop
    internal,          // a noggin bug; please report it
};

// Stable lower-case name of a code, e.g. "format_error".
inline const char* status_code_name(status_code code) {
    switch (code) {
        case status_code::ok: return "ok";
        case status_code::invalid_argument: return "invalid_argument";
        case status_code::io_error: return "io_error";
        case status_code::format_error: return "format_error";
        case status_code::unsupported: return "unsupported";
        case status_code::out_of_memory: return "out_of_memory";
        case status_code::out_of_range: return "out_of_range";
        case status_code::limit_exceeded: return "limit_exceeded";
        case status_code::device_error: return "device_error";
        case status_code::cancelled: return "cancelled";
        case status_code::internal: return "internal";
    }
    return "unknown";
}

// Success, or a code plus a human-readable message. Default-constructed = success.
class status {
public:
    status() = default;
    status(status_code code, std::string message) : code_(code), message_(std::move(message)) {}

    static status error(status_code code, std::string message) { return status(code, std::move(message)); }

    bool ok() const { return code_ == status_code::ok; }
    status_code code() const { return code_; }
    const std::string& message() const { return message_; }

    // Prefix the message with where it happened: "loading x.gguf: " + message.
    status& with_context(std::string_view context) {
        if (!ok()) message_ = std::string(context) + ": " + message_;
        return *this;
    }

private:
    status_code code_ = status_code::ok;
    std::string message_;  // empty when ok
};

// A value of type T, or the status that explains why there is none.
template <class T>
class result {
    static_assert(!std::is_same<T, noggin::status>::value, "result<status> makes no sense; return status");

public:
    result(T value) : status_(), has_value_(true) { new (storage_) T(std::move(value)); }  // NOLINT: implicit
    result(noggin::status error) : status_(std::move(error)), has_value_(false) {        // NOLINT: implicit
        NOGGIN_ASSERT(!status_.ok(), "result constructed from an ok status without a value");
        if (status_.ok()) status_ = noggin::status(status_code::internal, "result without value");
    }
    result(const result& other) : status_(other.status_), has_value_(other.has_value_) {
        if (has_value_) new (storage_) T(other.get());
    }
    result(result&& other) noexcept(std::is_nothrow_move_constructible<T>::value)
        : status_(std::move(other.status_)), has_value_(other.has_value_) {
        if (has_value_) new (storage_) T(std::move(other.get()));
    }
    result& operator=(result other) noexcept(std::is_nothrow_move_constructible<T>::value) {
        reset();
        status_ = std::move(other.status_);
        has_value_ = other.has_value_;
        if (has_value_) new (storage_) T(std::move(other.get()));
        return *this;
    }
    ~result() { reset(); }

    bool ok() const { return has_value_; }
    const noggin::status& status() const { return status_; }

    T& value() & {
        NOGGIN_ASSERT(has_value_, "result::value() on an error");
        return get();
    }
    const T& value() const& {
        NOGGIN_ASSERT(has_value_, "result::value() on an error");
        return get();
    }
    // By value, so `for (auto& x : make_result().value())` never iterates a destroyed temporary.
    T value() && {
        NOGGIN_ASSERT(has_value_, "result::value() on an error");
        return std::move(get());
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

private:
    T& get() { return *std::launder(reinterpret_cast<T*>(storage_)); }
    const T& get() const { return *std::launder(reinterpret_cast<const T*>(storage_)); }
    void reset() {
        if (has_value_) get().~T();
        has_value_ = false;
    }

    noggin::status status_;
    bool has_value_;
    alignas(T) unsigned char storage_[sizeof(T)];
};

namespace detail {
inline void append(std::string& out, std::string_view s) { out.append(s.data(), s.size()); }
inline void append(std::string& out, const char* s) { out.append(s ? s : "(null)"); }
inline void append(std::string& out, const std::string& s) { out.append(s); }
inline void append(std::string& out, char c) { out.push_back(c); }
inline void append(std::string& out, bool b) { out.append(b ? "true" : "false"); }
template <class N, typename std::enable_if<std::is_arithmetic<N>::value, int>::type = 0>
void append(std::string& out, N n) {
    out.append(std::to_string(n));
}
}  // namespace detail

// Build a message without iostreams: str("tensor ", name, " has ", n, " dims").
template <class... Args>
std::string str(const Args&... args) {
    std::string out;
    (detail::append(out, args), ...);
    return out;
}

}  // namespace noggin

// Return early from a function returning status (or result<T>) when `expr` yields a failed status.
#define NOGGIN_TRY(expr)                                   \
    do {                                                   \
        ::noggin::status noggin_try_status_ = (expr);      \
        if (!noggin_try_status_.ok()) return noggin_try_status_; \
    } while (0)
