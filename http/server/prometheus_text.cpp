#include "prometheus_text.h"

#include <cmath>
#include <cstdio>

namespace culex {
namespace {

void append_number(std::string& out, double value) {
    if (std::isinf(value)) {
        out += value > 0 ? "+Inf" : "-Inf";
        return;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", value);
    out += buf;
}

void append_labels(std::string& out, const Labels& labels) {
    if (labels.empty())
        return;
    out += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
        if (i > 0)
            out += ',';
        out += labels[i].first;
        out += "=\"";
        for (char c : labels[i].second) {
            if (c == '\\' || c == '"')
                out += '\\';
            if (c == '\n') {
                out += "\\n";
                continue;
            }
            out += c;
        }
        out += '"';
    }
    out += '}';
}

}  // namespace

void prometheus_header(std::string& out, std::string_view name, std::string_view type,
                       std::string_view help) {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void prometheus_sample(std::string& out, std::string_view name, const Labels& labels,
                       double value) {
    out.append(name);
    append_labels(out, labels);
    out += ' ';
    append_number(out, value);
    out += '\n';
}

void prometheus_histogram(std::string& out, std::string_view name, const Labels& labels,
                          const Histogram::Snapshot& h) {
    const std::string bucket = std::string(name) + "_bucket";
    for (size_t i = 0; i < h.cumulative.size(); ++i) {
        Labels with_le = labels;
        std::string le;
        if (i < h.bounds.size()) {
            append_number(le, h.bounds[i]);
        } else {
            le = "+Inf";
        }
        with_le.emplace_back("le", le);
        prometheus_sample(out, bucket, with_le, static_cast<double>(h.cumulative[i]));
    }
    prometheus_sample(out, std::string(name) + "_sum", labels, h.sum);
    prometheus_sample(out, std::string(name) + "_count", labels,
                      static_cast<double>(h.cumulative.empty() ? 0 : h.cumulative.back()));
}

}  // namespace culex
