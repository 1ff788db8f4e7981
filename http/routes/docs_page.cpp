#include "docs_page.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/pointer.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <map>
#include <set>
#include <utility>
#include <vector>

namespace culex {
namespace {

using rapidjson::Value;

constexpr const char* kMethods[] = {"get",    "put",  "post",    "patch",
                                    "delete", "head", "options", "trace"};
constexpr std::string_view kSchemaRef = "#/components/schemas/";
// How deep schemas nest on the page; deeper (only a document whose references go round in
// a circle gets there) is cut off.
constexpr int kMaxDepth = 8;

const Value* member(const Value* v, const char* name) {
    if (v == nullptr || !v->IsObject())
        return nullptr;
    auto it = v->FindMember(name);
    return it == v->MemberEnd() ? nullptr : &it->value;
}

std::string_view text(const Value* v) {
    if (v == nullptr || !v->IsString())
        return {};
    return {v->GetString(), v->GetStringLength()};
}

std::string_view key(const Value& name) {
    return {name.GetString(), name.GetStringLength()};
}

std::string compact_json(const Value& v) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    v.Accept(w);
    return {buffer.GetString(), buffer.GetSize()};
}

// application/x-www-form-urlencoded: unreserved characters as they are, space as '+',
// every other byte as %XX.
std::string form_encode(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else if (c == ' ') {
            out += '+';
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    return out;
}

// Letters and digits, every run of anything else as one '-': ids for links.
std::string slug(std::string_view s) {
    std::string out;
    for (char c : s) {
        const bool plain =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (plain)
            out += c;
        else if (!out.empty() && out.back() != '-')
            out += '-';
    }
    while (!out.empty() && out.back() == '-')
        out.pop_back();
    return out;
}

struct Operation {
    std::string method;  // upper case
    std::string path;
    const Value* spec;
    std::string anchor;
};

struct Tag {
    std::string name;
    std::string description;
    std::string anchor;
    std::vector<Operation> operations;
};

class Renderer {
  public:
    explicit Renderer(const rapidjson::Document& doc) : doc_(doc) {}

    std::string render() {
        collect();
        const Value* info = member(&doc_, "info");
        if (!text(member(info, "description")).empty())
            out_ += "<p>" + markdown_inline_html(text(member(info, "description"))) + "</p>\n";
        if (!text(member(info, "version")).empty())
            out_ += "<p class=\"muted\">API version " + html_escape(text(member(info, "version"))) +
                    ", OpenAPI " + html_escape(text(member(&doc_, "openapi"))) + ".</p>\n";
        contents();
        for (const Tag& tag : tags_) {
            if (tag.operations.empty())
                continue;
            out_ += "<section id=\"" + tag.anchor + "\">\n<h2>" + html_escape(tag.name) + "</h2>\n";
            if (!tag.description.empty())
                out_ += "<p>" + markdown_inline_html(tag.description) + "</p>\n";
            for (const Operation& op : tag.operations)
                operation(op);
            out_ += "</section>\n";
        }
        schemas();
        return std::move(out_);
    }

  private:
    std::string unique_anchor(std::string base) {
        std::string anchor = base;
        for (int n = 2; !anchors_.insert(anchor).second; ++n)
            anchor = base + "-" + std::to_string(n);
        return anchor;
    }

    // The operations, grouped by their first tag in the order the document lists its
    // tags; tags it does not list follow, and operations without one go under "other",
    // so that no route is left off the page.
    void collect() {
        anchors_.insert("schemas");
        std::map<std::string, size_t> index;
        auto tag_at = [&](std::string_view name, std::string_view description) -> Tag& {
            auto [it, added] = index.emplace(std::string(name), tags_.size());
            if (added) {
                tags_.push_back(Tag{std::string(name),
                                    std::string(description),
                                    unique_anchor("tag-" + slug(name)),
                                    {}});
            }
            return tags_[it->second];
        };
        const Value* listed = member(&doc_, "tags");
        if (listed != nullptr && listed->IsArray()) {
            for (const Value& t : listed->GetArray())
                tag_at(text(member(&t, "name")), text(member(&t, "description")));
        }
        std::vector<Operation> untagged;
        for (const auto& path : member(&doc_, "paths")->GetObject()) {
            for (const char* method : kMethods) {
                const Value* spec = member(&path.value, method);
                if (spec == nullptr || !spec->IsObject())
                    continue;
                Operation op{method, std::string(key(path.name)), spec, ""};
                for (char& c : op.method)
                    c = static_cast<char>(c - 'a' + 'A');
                op.anchor = unique_anchor(slug(std::string(method) + " " + op.path));
                const Value* tags = member(spec, "tags");
                if (tags != nullptr && tags->IsArray() && !tags->Empty() && (*tags)[0].IsString()) {
                    tag_at(text(&(*tags)[0]), "").operations.push_back(std::move(op));
                } else {
                    untagged.push_back(std::move(op));
                }
            }
        }
        for (Operation& op : untagged)
            tag_at("other", "").operations.push_back(std::move(op));
        const Value* schemas = member(member(&doc_, "components"), "schemas");
        if (schemas != nullptr && schemas->IsObject()) {
            for (const auto& s : schemas->GetObject()) {
                schema_anchors_.emplace(std::string(key(s.name)),
                                        unique_anchor("schema-" + slug(key(s.name))));
            }
        }
    }

    void contents() {
        out_ += "<nav>\n<h2>Contents</h2>\n";
        for (const Tag& tag : tags_) {
            if (tag.operations.empty())
                continue;
            out_ += "<h3><a href=\"#" + tag.anchor + "\">" + html_escape(tag.name) +
                    "</a></h3>\n<ul>\n";
            for (const Operation& op : tag.operations) {
                out_ += "<li><a href=\"#" + op.anchor + "\">" + method_badge(op.method) +
                        " <code>" + html_escape(op.path) + "</code></a> " +
                        markdown_inline_html(text(member(op.spec, "summary"))) + "</li>\n";
            }
            out_ += "</ul>\n";
        }
        if (!schema_anchors_.empty())
            out_ += "<h3><a href=\"#schemas\">Schemas</a></h3>\n";
        out_ += "</nav>\n";
    }

    static std::string method_badge(const std::string& method) {
        std::string lower = method;
        for (char& c : lower)
            c = static_cast<char>(c - 'A' + 'a');
        return "<span class=\"method " + lower + "\">" + method + "</span>";
    }

    // A local $ref followed to what it names (a few hops at most, so a cycle ends).
    const Value* resolve(const Value* v) const {
        for (int hops = 0; hops < 8; ++hops) {
            std::string_view ref = text(member(v, "$ref"));
            if (ref.empty())
                return v;
            v = rapidjson::Pointer(ref.data(), ref.size()).Get(doc_);
        }
        return v;
    }

    // The named schema a $ref points at, linked; empty when `schema` is no such $ref.
    std::string schema_link(const Value* schema) const {
        std::string_view ref = text(member(schema, "$ref"));
        if (ref.substr(0, kSchemaRef.size()) != kSchemaRef)
            return {};
        std::string name(ref.substr(kSchemaRef.size()));
        auto it = schema_anchors_.find(name);
        if (it == schema_anchors_.end())
            return "<code>" + html_escape(name) + "</code>";
        return "<a href=\"#" + it->second + "\">" + html_escape(name) + "</a>";
    }

    std::string type_html(const Value* schema, int depth = 0) const {
        if (std::string link = schema_link(schema); !link.empty())
            return link;
        const Value* s = resolve(schema);
        if (s == nullptr || !s->IsObject() || depth == kMaxDepth)
            return "any";
        for (auto [word, joiner] :
             {std::pair{"oneOf", " or "}, {"anyOf", " or "}, {"allOf", " and "}}) {
            const Value* parts = member(s, word);
            if (parts == nullptr || !parts->IsArray())
                continue;
            std::string out;
            for (const Value& part : parts->GetArray())
                out += (out.empty() ? "" : joiner) + type_html(&part, depth + 1);
            return out;
        }
        std::string_view type = text(member(s, "type"));
        std::string out;
        if (type == "array") {
            out = "array of " + type_html(member(s, "items"), depth + 1);
        } else if (type == "object" && member(s, "additionalProperties") != nullptr &&
                   member(s, "additionalProperties")->IsObject()) {
            out = "object of " + type_html(member(s, "additionalProperties"), depth + 1);
        } else {
            out = type.empty() ? "any" : html_escape(type);
            if (!text(member(s, "format")).empty())
                out += " (" + html_escape(text(member(s, "format"))) + ")";
        }
        const Value* nullable = member(s, "nullable");
        if (nullable != nullptr && nullable->IsTrue())
            out += " or null";
        return out;
    }

    // A description followed by the enumeration, default and bounds of `schema`, as
    // sentences.
    std::string meaning_html(std::string_view description, const Value* schema) const {
        const Value* s = resolve(schema);
        std::string out = markdown_inline_html(description);
        auto sentence = [&out](const std::string& text) {
            out += (out.empty() ? "" : " ") + text + ".";
        };
        auto code = [](const Value& v) {
            return "<code>" + html_escape(v.IsString() ? std::string(text(&v)) : compact_json(v)) +
                   "</code>";
        };
        auto one_of = [&](const Value* values, const char* lead) {
            if (values == nullptr || !values->IsArray() || values->Empty())
                return;
            std::string list = lead;
            for (const Value& v : values->GetArray())
                list += (&v == values->Begin() ? " " : ", ") + code(v);
            sentence(list);
        };
        auto bounds = [&](const char* low, const char* high, const std::string& unit) {
            const Value* lo = member(s, low);
            const Value* hi = member(s, high);
            if (lo != nullptr && hi != nullptr)
                sentence("From " + code(*lo) + " to " + code(*hi) + unit);
            else if (lo != nullptr)
                sentence("At least " + code(*lo) + unit);
            else if (hi != nullptr)
                sentence("At most " + code(*hi) + unit);
        };
        one_of(member(s, "enum"), "One of");
        one_of(member(resolve(member(s, "items")), "enum"), "Each one of");
        if (const Value* fallback = member(s, "default"))
            sentence("Default " + code(*fallback));
        bounds("minimum", "maximum", "");
        bounds("minLength", "maxLength", " characters");
        bounds("minItems", "maxItems", " items");
        bounds("minProperties", "maxProperties", " entries");
        return out;
    }

    // One row per property, nested inline objects (and arrays of them) as `a.b` and
    // `a[].b`; named schemas are links instead.
    void field_rows(const Value* schema, const std::string& prefix, std::string& rows,
                    int depth = 0) const {
        if (depth == kMaxDepth)
            return;
        const Value* s = resolve(schema);
        const Value* all = member(s, "allOf");
        if (all != nullptr && all->IsArray()) {
            for (const Value& part : all->GetArray())
                field_rows(&part, prefix, rows, depth + 1);
        }
        const Value* properties = member(s, "properties");
        if (properties == nullptr || !properties->IsObject())
            return;
        std::set<std::string_view> required;
        const Value* listed = member(s, "required");
        if (listed != nullptr && listed->IsArray()) {
            for (const Value& name : listed->GetArray())
                required.insert(text(&name));
        }
        for (const auto& p : properties->GetObject()) {
            const std::string name = prefix + std::string(key(p.name));
            rows += "<tr><td><code>" + html_escape(name) + "</code>";
            if (required.count(key(p.name)) != 0)
                rows += " <span class=\"required\">required</span>";
            rows += "</td><td>" + type_html(&p.value) + "</td><td>" +
                    meaning_html(text(member(&p.value, "description")), &p.value) + "</td></tr>\n";
            if (member(&p.value, "$ref") != nullptr)
                continue;
            if (member(&p.value, "properties") != nullptr)
                field_rows(&p.value, name + ".", rows, depth + 1);
            const Value* items = member(&p.value, "items");
            if (items != nullptr && member(items, "$ref") == nullptr &&
                member(items, "properties") != nullptr)
                field_rows(items, name + "[].", rows, depth + 1);
        }
    }

    void fields_table(const Value* schema) {
        std::string rows;
        field_rows(schema, "", rows);
        if (rows.empty())
            return;
        out_ += "<table class=\"fields\">\n<tr><th>field</th><th>type</th><th>meaning</th></tr>\n" +
                rows + "</table>\n";
        const Value* more = member(resolve(schema), "additionalProperties");
        if (more != nullptr && more->IsFalse())
            out_ += "<p class=\"muted\">No other fields are accepted.</p>\n";
    }

    // A form body's example is an object of its fields; it is shown as the form is sent.
    void example(const Value* media, std::string_view media_type = {}) {
        const Value* ex = member(media, "example");
        if (ex == nullptr)
            return;
        if (media_type == "application/x-www-form-urlencoded" && ex->IsObject()) {
            std::string form;
            for (const auto& field : ex->GetObject()) {
                form += (form.empty() ? "" : "&") + form_encode(key(field.name)) + "=" +
                        form_encode(field.value.IsString() ? std::string(text(&field.value))
                                                           : compact_json(field.value));
            }
            out_ += "<pre class=\"example\">" + html_escape(form) + "</pre>\n";
            return;
        }
        if (ex->IsString()) {
            out_ += "<pre class=\"example\">" + html_escape(text(ex)) + "</pre>\n";
            return;
        }
        rapidjson::StringBuffer buffer;
        rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buffer);
        w.SetIndent(' ', 2);
        ex->Accept(w);
        out_ += "<pre class=\"example\">" +
                html_escape(std::string_view(buffer.GetString(), buffer.GetSize())) + "</pre>\n";
    }

    void parameters(const Value* list) {
        if (list == nullptr || !list->IsArray() || list->Empty())
            return;
        out_ +=
            "<h4>Parameters</h4>\n<table class=\"fields\">\n"
            "<tr><th>name</th><th>in</th><th>type</th><th>meaning</th></tr>\n";
        for (const Value& item : list->GetArray()) {
            const Value* p = resolve(&item);
            out_ += "<tr><td><code>" + html_escape(text(member(p, "name"))) + "</code>";
            const Value* required = member(p, "required");
            if (required != nullptr && required->IsTrue())
                out_ += " <span class=\"required\">required</span>";
            out_ += "</td><td>" + html_escape(text(member(p, "in"))) + "</td><td>" +
                    type_html(member(p, "schema")) + "</td><td>" +
                    meaning_html(text(member(p, "description")), member(p, "schema")) +
                    "</td></tr>\n";
        }
        out_ += "</table>\n";
    }

    void request_body(const Value* body) {
        body = resolve(body);
        const Value* content = member(body, "content");
        if (content == nullptr || !content->IsObject())
            return;
        out_ += "<h4>Request body</h4>\n";
        const Value* required = member(body, "required");
        for (const auto& media : content->GetObject()) {
            const Value* schema = member(&media.value, "schema");
            out_ += "<p><code>" + html_escape(key(media.name)) + "</code>";
            if (required != nullptr && required->IsTrue())
                out_ += ", required";
            if (std::string link = schema_link(schema); !link.empty())
                out_ += ": " + link;
            out_ += ".";
            if (!text(member(resolve(schema), "description")).empty())
                out_ += " " + markdown_inline_html(text(member(resolve(schema), "description")));
            out_ += "</p>\n";
            fields_table(schema);
            example(&media.value, key(media.name));
        }
    }

    void responses(const Value* list) {
        if (list == nullptr || !list->IsObject())
            return;
        out_ += "<h4>Answers</h4>\n<table class=\"answers\">\n";
        for (const auto& r : list->GetObject()) {
            const Value* response = resolve(&r.value);
            out_ += "<tr><td><b>" + html_escape(key(r.name)) + "</b></td><td>" +
                    markdown_inline_html(text(member(response, "description")));
            const Value* content = member(response, "content");
            if (content != nullptr && content->IsObject()) {
                for (const auto& media : content->GetObject()) {
                    out_ += " <code>" + html_escape(key(media.name)) +
                            "</code>: " + type_html(member(&media.value, "schema")) + ".";
                }
            }
            const Value* headers = member(response, "headers");
            if (headers != nullptr && headers->IsObject()) {
                for (const auto& h : headers->GetObject()) {
                    out_ += " Header <code>" + html_escape(key(h.name)) + "</code>: " +
                            markdown_inline_html(text(member(resolve(&h.value), "description")));
                }
            }
            out_ += "</td></tr>\n";
        }
        out_ += "</table>\n";
        // What each answer with an example carries, with its fields unless a named
        // schema (listed under Schemas) describes them.
        for (const auto& r : list->GetObject()) {
            const Value* content = member(resolve(&r.value), "content");
            if (content == nullptr || !content->IsObject())
                continue;
            for (const auto& media : content->GetObject()) {
                if (member(&media.value, "example") == nullptr)
                    continue;
                out_ += "<h5>" + html_escape(key(r.name)) + " <code>" +
                        html_escape(key(media.name)) + "</code></h5>\n";
                const Value* schema = member(&media.value, "schema");
                if (schema_link(schema).empty())
                    fields_table(schema);
                example(&media.value);
            }
        }
    }

    void operation(const Operation& op) {
        out_ += "<article class=\"route\" id=\"" + op.anchor + "\">\n<h3>" +
                method_badge(op.method) + " <code>" + html_escape(op.path) + "</code>";
        const Value* security = member(op.spec, "security");
        if (security != nullptr && security->IsArray() && security->Empty())
            out_ += " <span class=\"open\">no token</span>";
        out_ += "</h3>\n";
        if (!text(member(op.spec, "summary")).empty())
            out_ += "<p class=\"summary\">" +
                    markdown_inline_html(text(member(op.spec, "summary"))) + "</p>\n";
        if (!text(member(op.spec, "description")).empty())
            out_ += "<p>" + markdown_inline_html(text(member(op.spec, "description"))) + "</p>\n";
        parameters(member(op.spec, "parameters"));
        request_body(member(op.spec, "requestBody"));
        responses(member(op.spec, "responses"));
        out_ += "</article>\n";
    }

    void schemas() {
        const Value* list = member(member(&doc_, "components"), "schemas");
        if (list == nullptr || !list->IsObject() || list->ObjectEmpty())
            return;
        out_ += "<section id=\"schemas\">\n<h2>Schemas</h2>\n";
        for (const auto& s : list->GetObject()) {
            out_ += "<article class=\"schema\" id=\"" +
                    schema_anchors_.at(std::string(key(s.name))) + "\">\n<h3>" +
                    html_escape(key(s.name)) + "</h3>\n";
            if (!text(member(&s.value, "description")).empty())
                out_ +=
                    "<p>" + markdown_inline_html(text(member(&s.value, "description"))) + "</p>\n";
            fields_table(&s.value);
            example(&s.value);
            out_ += "</article>\n";
        }
        out_ += "</section>\n";
    }

    const rapidjson::Document& doc_;
    std::vector<Tag> tags_;
    std::map<std::string, std::string> schema_anchors_;
    std::set<std::string> anchors_;
    std::string out_;
};

}  // namespace

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string markdown_inline_html(std::string_view text) {
    std::string out;
    size_t done = 0;  // text before this is in `out`
    size_t i = 0;
    while (i < text.size()) {
        if (text[i] != '`') {
            ++i;
            continue;
        }
        const size_t open = i;
        while (i < text.size() && text[i] == '`')
            ++i;
        const size_t run = i - open;
        // The closing run is the next run of exactly the same length.
        size_t close = i;
        size_t close_run = 0;
        while (close < text.size()) {
            if (text[close] != '`') {
                ++close;
                continue;
            }
            size_t end = close;
            while (end < text.size() && text[end] == '`')
                ++end;
            if (end - close == run) {
                close_run = end - close;
                break;
            }
            close = end;
        }
        if (close_run == 0)
            continue;  // unclosed: the run is literal text
        std::string_view code = text.substr(i, close - i);
        if (code.size() >= 2 && code.front() == ' ' && code.back() == ' ' &&
            code.find_first_not_of(' ') != std::string_view::npos)
            code = code.substr(1, code.size() - 2);
        out += html_escape(text.substr(done, open - done));
        out += "<code>" + html_escape(code) + "</code>";
        i = close + close_run;
        done = i;
    }
    out += html_escape(text.substr(done));
    return out;
}

Result<std::string> render_docs_page(std::string_view openapi_json, std::string_view page) {
    const size_t at = page.find(kDocsPlaceholder);
    if (at == std::string_view::npos)
        return Status::error("the docs page has no " + std::string(kDocsPlaceholder));
    rapidjson::Document doc;
    doc.Parse(openapi_json.data(), openapi_json.size());
    if (doc.HasParseError()) {
        return Status::error(std::string("the OpenAPI document does not parse: ") +
                             rapidjson::GetParseError_En(doc.GetParseError()) + " at offset " +
                             std::to_string(doc.GetErrorOffset()));
    }
    const Value* paths = member(&doc, "paths");
    if (paths == nullptr || !paths->IsObject())
        return Status::error("the OpenAPI document has no paths");
    std::string out(page.substr(0, at));
    out += Renderer(doc).render();
    out += page.substr(at + kDocsPlaceholder.size());
    return out;
}

}  // namespace culex
