// noggin/formats/mapped_file.hpp — a read-only memory-mapped file (POSIX mmap, Windows file mapping).
//
// The formats layer reads weights in place from the page cache instead of copying them: a 4 GiB model
// costs no heap memory, and pages the forward pass never touches are never read from disk.
//
//     noggin::result<noggin::mapped_file> m = noggin::mapped_file::open("model.gguf");
//     if (!m.ok()) return m.status();
//     parse(m->data(), m->size());  // valid until `m` is destroyed or closed
//
// Sections: mapped_file · POSIX implementation · Windows implementation (_WIN32) · path helpers
//
// An empty file maps to data() == nullptr, size() == 0 (neither OS maps zero bytes); parsers then
// report it as truncated. The mapping is private and read-only: writing through data() is undefined.
#pragma once

#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>

#include "../core/status.hpp"

#if defined(_WIN32)
// Keep <windows.h> as quiet as we can without overriding the host's own choices.
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#define NOGGIN_UNDEF_WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#define NOGGIN_UNDEF_NOMINMAX
#endif
#include <windows.h>
#ifdef NOGGIN_UNDEF_WIN32_LEAN_AND_MEAN
#undef WIN32_LEAN_AND_MEAN
#undef NOGGIN_UNDEF_WIN32_LEAN_AND_MEAN
#endif
#ifdef NOGGIN_UNDEF_NOMINMAX
#undef NOMINMAX
#undef NOGGIN_UNDEF_NOMINMAX
#endif
#else
#include <cerrno>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace noggin {

// --- mapped_file ------------------------------------------------------------------------------------

// Owns one read-only mapping of a whole file. Movable, not copyable; unmaps on destruction.
class mapped_file {
public:
    mapped_file() = default;
    mapped_file(const mapped_file&) = delete;
    mapped_file& operator=(const mapped_file&) = delete;
    mapped_file(mapped_file&& other) noexcept
        : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
    mapped_file& operator=(mapped_file&& other) noexcept {
        if (this != &other) {
            close();
            data_ = std::exchange(other.data_, nullptr);
            size_ = std::exchange(other.size_, 0);
        }
        return *this;
    }
    ~mapped_file() { close(); }

    // Map `path` (UTF-8 on Windows) read-only. io_error when it cannot be opened, is not a regular
    // file, or does not fit the address space.
    static result<mapped_file> open(const std::string& path);

    const unsigned char* data() const { return data_; }  // first byte; nullptr for an empty file
    std::uint64_t size() const { return size_; }         // bytes in the file

    // Unmap now; the object becomes an empty mapping.
    void close();

private:
    const unsigned char* data_ = nullptr;  // start of the view (not owned memory: the OS's mapping)
    std::uint64_t size_ = 0;               // bytes mapped (= file size)
};

namespace detail {

inline std::string quote_path(const std::string& path) { return str("'", path, "'"); }

}  // namespace detail

#if !defined(_WIN32)
// --- POSIX implementation -----------------------------------------------------------------------------

namespace detail {

// A short reason for an errno value; strerror is not thread-safe and its wording varies.
inline std::string errno_text(int e) {
    switch (e) {
        case ENOENT: return "no such file or directory";
        case EACCES: return "permission denied";
        case EISDIR: return "is a directory";
        case ENOMEM: return "out of memory";
        case EMFILE: return "too many open files";
        case ENFILE: return "too many open files in the system";
        case ENAMETOOLONG: return "file name too long";
        case ENOTDIR: return "a path component is not a directory";
        case ELOOP: return "too many symbolic links";
        case EINVAL: return "invalid argument";
        case ENODEV: return "file system does not support mapping";
        default: return str("errno ", e);
    }
}

}  // namespace detail

inline result<mapped_file> mapped_file::open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return status(status_code::io_error,
                      str("cannot open ", detail::quote_path(path), ": ", detail::errno_text(errno)));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int e = errno;
        ::close(fd);
        return status(status_code::io_error, str("cannot stat ", detail::quote_path(path), ": ", detail::errno_text(e)));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        return status(status_code::io_error, str(detail::quote_path(path), " is not a regular file"));
    }
    mapped_file m;
    if (st.st_size <= 0) {  // nothing to map; an empty mapping
        ::close(fd);
        return m;
    }
    const std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
    if (size > static_cast<std::uint64_t>(std::numeric_limits<std::size_t>::max())) {
        ::close(fd);
        return status(status_code::io_error,
                      str(detail::quote_path(path), " (", size, " bytes) does not fit this process's address space"));
    }
    void* p = ::mmap(nullptr, static_cast<std::size_t>(size), PROT_READ, MAP_PRIVATE, fd, 0);
    const int e = errno;
    ::close(fd);  // the mapping keeps its own reference to the file
    if (p == MAP_FAILED) {
        return status(status_code::io_error, str("cannot map ", detail::quote_path(path), ": ", detail::errno_text(e)));
    }
    m.data_ = static_cast<const unsigned char*>(p);
    m.size_ = size;
    return m;
}

inline void mapped_file::close() {
    if (data_ != nullptr) ::munmap(const_cast<unsigned char*>(data_), static_cast<std::size_t>(size_));
    data_ = nullptr;
    size_ = 0;
}

#else
// --- Windows implementation ---------------------------------------------------------------------------

namespace detail {

// UTF-8 → UTF-16 for the wide Win32 file APIs; false on invalid UTF-8 or an over-long path.
inline bool utf8_to_wide(const std::string& in, std::wstring* out) {
    out->clear();
    if (in.empty()) return true;
    if (in.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) return false;
    const int n = ::MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, in.data(), static_cast<int>(in.size()), nullptr, 0);
    if (n <= 0) return false;
    out->resize(static_cast<std::size_t>(n));
    return ::MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, in.data(), static_cast<int>(in.size()), &(*out)[0], n) == n;
}

inline std::string win32_error_text(DWORD e) {
    switch (e) {
        case ERROR_FILE_NOT_FOUND: return "no such file";
        case ERROR_PATH_NOT_FOUND: return "no such directory";
        case ERROR_ACCESS_DENIED: return "access denied";
        case ERROR_SHARING_VIOLATION: return "file is locked by another process";
        case ERROR_NOT_ENOUGH_MEMORY:
        case ERROR_OUTOFMEMORY: return "out of memory";
        default: return str("Win32 error ", static_cast<unsigned long>(e));
    }
}

}  // namespace detail

inline result<mapped_file> mapped_file::open(const std::string& path) {
    std::wstring wide;
    if (!detail::utf8_to_wide(path, &wide) || wide.empty()) {
        return status(status_code::io_error, str("cannot open ", detail::quote_path(path), ": not a valid UTF-8 path"));
    }
    HANDLE file = ::CreateFileW(wide.c_str(), GENERIC_READ, FILE_SHARE_READ, nullptr, OPEN_EXISTING,
                                FILE_ATTRIBUTE_NORMAL, nullptr);
    if (file == INVALID_HANDLE_VALUE) {
        return status(status_code::io_error,
                      str("cannot open ", detail::quote_path(path), ": ", detail::win32_error_text(::GetLastError())));
    }
    LARGE_INTEGER size_li;
    if (!::GetFileSizeEx(file, &size_li)) {
        const DWORD e = ::GetLastError();
        ::CloseHandle(file);
        return status(status_code::io_error,
                      str("cannot get the size of ", detail::quote_path(path), ": ", detail::win32_error_text(e)));
    }
    mapped_file m;
    if (size_li.QuadPart <= 0) {  // CreateFileMapping refuses empty files; an empty mapping
        ::CloseHandle(file);
        return m;
    }
    const std::uint64_t size = static_cast<std::uint64_t>(size_li.QuadPart);
    if (size > static_cast<std::uint64_t>(std::numeric_limits<SIZE_T>::max())) {
        ::CloseHandle(file);
        return status(status_code::io_error,
                      str(detail::quote_path(path), " (", size, " bytes) does not fit this process's address space"));
    }
    HANDLE mapping = ::CreateFileMappingW(file, nullptr, PAGE_READONLY, 0, 0, nullptr);
    if (mapping == nullptr) {
        const DWORD e = ::GetLastError();
        ::CloseHandle(file);
        return status(status_code::io_error, str("cannot map ", detail::quote_path(path), ": ", detail::win32_error_text(e)));
    }
    void* view = ::MapViewOfFile(mapping, FILE_MAP_READ, 0, 0, 0);
    const DWORD e = ::GetLastError();
    // The view keeps the mapping object and the file open; the handles are no longer needed.
    ::CloseHandle(mapping);
    ::CloseHandle(file);
    if (view == nullptr) {
        return status(status_code::io_error, str("cannot map ", detail::quote_path(path), ": ", detail::win32_error_text(e)));
    }
    m.data_ = static_cast<const unsigned char*>(view);
    m.size_ = size;
    return m;
}

inline void mapped_file::close() {
    if (data_ != nullptr) ::UnmapViewOfFile(data_);
    data_ = nullptr;
    size_ = 0;
}

#endif

// --- path helpers --------------------------------------------------------------------------------------

namespace detail {

// fopen for a UTF-8 path (the wide API on Windows, where fopen uses the ANSI code page).
inline std::FILE* fopen_utf8(const std::string& path, const char* mode) {
#if defined(_WIN32)
    std::wstring wide, wmode;
    if (!utf8_to_wide(path, &wide) || !utf8_to_wide(mode, &wmode)) return nullptr;
    return ::_wfopen(wide.c_str(), wmode.c_str());
#else
    return std::fopen(path.c_str(), mode);
#endif
}

// std::remove for a UTF-8 path; true when the file was removed.
inline bool remove_utf8(const std::string& path) {
#if defined(_WIN32)
    std::wstring wide;
    if (!utf8_to_wide(path, &wide)) return false;
    return ::_wremove(wide.c_str()) == 0;
#else
    return std::remove(path.c_str()) == 0;
#endif
}

}  // namespace detail

}  // namespace noggin
