// tools/tokenize/main.cpp — noggin-tokenize: encode JSON strings (one per line on stdin) to JSON id
// arrays, or decode id arrays back to JSON strings.
//
//   noggin-tokenize --model FILE.gguf | --tokenizer tokenizer.json [--special] [--bos] [--decode]
//
//   --special   parse special tokens written in the text ("<|im_start|>" → its id)
//   --bos       apply the tokenizer's own BOS/EOS rule (as HF encode() does by default)
//   --decode    read JSON arrays of ids, print JSON strings (HF decode semantics)
// tokenizer_config.json is read from the tokenizer.json's folder when present.
#include <noggin/formats/gguf.hpp>
#include <noggin/text/json.hpp>
#include <noggin/text/tokenizer_gguf.hpp>
#include <noggin/text/tokenizer_json.hpp>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

using namespace noggin::text;

static bool read_file(const std::string& path, std::string& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return true;
}

static int usage() {
    std::fprintf(stderr,
                 "usage: noggin-tokenize (--model FILE.gguf | --tokenizer tokenizer.json) [--special] [--bos] [--decode]\n"
                 "  reads one JSON string per line on stdin, prints one JSON array of ids per line;\n"
                 "  with --decode reads JSON arrays of ids and prints JSON strings.\n");
    return 2;
}

int main(int argc, char** argv) {
    std::string model, tokjson;
    bool special = false, bos = false, decode = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--model" && i + 1 < argc) model = argv[++i];
        else if (a == "--tokenizer" && i + 1 < argc) tokjson = argv[++i];
        else if (a == "--special") special = true;
        else if (a == "--bos") bos = true;
        else if (a == "--decode") decode = true;
        else return usage();
    }
    if (model.empty() == tokjson.empty()) return usage();

    noggin::result<tokenizer> tok = noggin::status(noggin::status_code::internal, "not loaded");
    if (!model.empty()) {
        auto f = noggin::gguf::file::open(model);
        if (!f.ok()) {
            std::fprintf(stderr, "noggin-tokenize: %s\n", f.status().message().c_str());
            return 1;
        }
        tok = tokenizer_from_gguf(*f);
    } else {
        std::string tj, cj;
        if (!read_file(tokjson, tj)) {
            std::fprintf(stderr, "noggin-tokenize: cannot read %s\n", tokjson.c_str());
            return 1;
        }
        size_t slash = tokjson.find_last_of("/\\");
        std::string dir = slash == std::string::npos ? std::string(".") : tokjson.substr(0, slash);
        read_file(dir + "/tokenizer_config.json", cj);  // optional
        tok = tokenizer_from_json(tj, cj);
    }
    if (!tok.ok()) {
        std::fprintf(stderr, "noggin-tokenize: %s\n", tok.status().message().c_str());
        return 1;
    }

    encode_options opt;
    opt.parse_special = special;
    opt.add_special = bos;
    std::string line, out;
    std::vector<token_id> ids;
    size_t lineno = 0;
    int rc = 0;
    while (std::getline(std::cin, line)) {
        ++lineno;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) continue;
        auto v = json_parse(line);
        out.clear();
        if (!v.ok()) {
            std::fprintf(stderr, "noggin-tokenize: line %zu: %s\n", lineno, v.status().message().c_str());
            rc = 1;
            continue;
        }
        if (decode) {
            ids.clear();
            bool good = v->is_array();
            for (size_t i = 0; good && i < v->size(); ++i) {
                good = (*v)[i].is_int();
                ids.push_back(token_id((*v)[i].as_int(-1)));
            }
            if (!good) {
                std::fprintf(stderr, "noggin-tokenize: line %zu: expected an array of integer ids\n", lineno);
                rc = 1;
                continue;
            }
            auto text = tok->decode(ids);
            if (!text.ok()) {
                std::fprintf(stderr, "noggin-tokenize: line %zu: %s\n", lineno, text.status().message().c_str());
                rc = 1;
                continue;
            }
            json_quote(out, *text);
        } else {
            if (!v->is_string()) {
                std::fprintf(stderr, "noggin-tokenize: line %zu: expected a JSON string\n", lineno);
                rc = 1;
                continue;
            }
            ids.clear();
            noggin::status s = tok->encode(v->as_string(), ids, opt);
            if (!s.ok()) {
                std::fprintf(stderr, "noggin-tokenize: line %zu: %s\n", lineno, s.message().c_str());
                rc = 1;
                continue;
            }
            out.push_back('[');
            for (size_t i = 0; i < ids.size(); ++i) {
                if (i) out.push_back(',');
                out += std::to_string(ids[i]);
            }
            out.push_back(']');
        }
        out.push_back('\n');
        std::fwrite(out.data(), 1, out.size(), stdout);
    }
    return rc;
}
