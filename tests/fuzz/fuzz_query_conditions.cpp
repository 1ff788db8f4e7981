// libFuzzer target: the query-string reader, the selection parameters with their
// `where` language, and the SQL built from them never crash; an accepted condition
// carries a JSON value, and the SQL has one placeholder per parameter.
#include <rapidjson/document.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/codecs/query_params.h"
#include "http/codecs/selection_params.h"
#include "storage/message_sql.h"

using namespace culex;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    Result<JsonCondition> condition = parse_json_condition(input);
    if (condition.is_ok() && condition.value().op != JsonOp::kExists) {
        rapidjson::Document doc;
        doc.Parse(condition.value().value_json.c_str(), condition.value().value_json.size());
        if (doc.HasParseError() || doc.IsObject() || doc.IsArray())
            std::abort();
    }
    Result<ParamReader> params = ParamReader::parse(input);
    if (!params.is_ok())
        return 0;
    MessageSelection selection;
    read_selection(params.value(), selection);
    params.value().integer("limit", 1, 1000);
    if (!params.value().finish().is_ok())
        return 0;
    SqlParams sql_params;
    const std::string sql = selection_sql(selection, RowState::kLive, sql_params);
    const size_t n = sql_params.values().size();
    if (n > 0 && sql.find("$" + std::to_string(n)) == std::string::npos)
        std::abort();
    if (sql.find("$" + std::to_string(n + 1)) != std::string::npos)
        std::abort();
    return 0;
}
