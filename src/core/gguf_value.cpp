#include <cmath>
#include <limits>
#include <string>

#include "uma/core/error.h"
#include "uma/core/gguf.h"

namespace uma {

std::string_view gguf_value_type_name(GgufValueType type) {
    switch (type) {
        case GgufValueType::UINT8: return "uint8";
        case GgufValueType::INT8: return "int8";
        case GgufValueType::UINT16: return "uint16";
        case GgufValueType::INT16: return "int16";
        case GgufValueType::UINT32: return "uint32";
        case GgufValueType::INT32: return "int32";
        case GgufValueType::FLOAT32: return "float32";
        case GgufValueType::BOOL: return "bool";
        case GgufValueType::STRING: return "string";
        case GgufValueType::ARRAY: return "array";
        case GgufValueType::UINT64: return "uint64";
        case GgufValueType::INT64: return "int64";
        case GgufValueType::FLOAT64: return "float64";
    }
    return "unknown";
}

bool GgufValue::is_integer() const {
    switch (type) {
        case GgufValueType::UINT8:
        case GgufValueType::UINT16:
        case GgufValueType::UINT32:
        case GgufValueType::UINT64:
        case GgufValueType::INT8:
        case GgufValueType::INT16:
        case GgufValueType::INT32:
        case GgufValueType::INT64: return true;
        default: return false;
    }
}

bool GgufValue::is_number() const {
    return is_integer() || type == GgufValueType::FLOAT32 || type == GgufValueType::FLOAT64;
}

static bool is_unsigned(GgufValueType t) {
    return t == GgufValueType::UINT8 || t == GgufValueType::UINT16 || t == GgufValueType::UINT32 ||
           t == GgufValueType::UINT64 || t == GgufValueType::BOOL;
}

int64_t GgufValue::as_int(std::string_view what) const {
    if (is_unsigned(type) && type != GgufValueType::BOOL) {
        if (uint_value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
            throw Error(std::string(what) + ": value " + std::to_string(uint_value) +
                        " is too large");
        return static_cast<int64_t>(uint_value);
    }
    if (is_integer()) return int_value;
    if (type == GgufValueType::FLOAT32 || type == GgufValueType::FLOAT64) {
        if (std::floor(float_value) == float_value && std::abs(float_value) < 9.0e18)
            return static_cast<int64_t>(float_value);
    }
    throw Error(std::string(what) + ": expected an integer, found " +
                std::string(gguf_value_type_name(type)));
}

double GgufValue::as_float(std::string_view what) const {
    if (type == GgufValueType::FLOAT32 || type == GgufValueType::FLOAT64) return float_value;
    if (is_unsigned(type) && type != GgufValueType::BOOL) return static_cast<double>(uint_value);
    if (is_integer()) return static_cast<double>(int_value);
    throw Error(std::string(what) + ": expected a number, found " +
                std::string(gguf_value_type_name(type)));
}

bool GgufValue::as_bool(std::string_view what) const {
    if (type == GgufValueType::BOOL) return uint_value != 0;
    if (is_integer()) return as_int(what) != 0;
    throw Error(std::string(what) + ": expected a bool, found " +
                std::string(gguf_value_type_name(type)));
}

const std::string& GgufValue::as_string(std::string_view what) const {
    if (type != GgufValueType::STRING)
        throw Error(std::string(what) + ": expected a string, found " +
                    std::string(gguf_value_type_name(type)));
    return string_value;
}

GgufValue GgufValue::make_uint(GgufValueType t, uint64_t v) {
    GgufValue value;
    value.type = t;
    value.uint_value = v;
    return value;
}

GgufValue GgufValue::make_int(GgufValueType t, int64_t v) {
    GgufValue value;
    value.type = t;
    value.int_value = v;
    return value;
}

GgufValue GgufValue::make_float(GgufValueType t, double v) {
    GgufValue value;
    value.type = t;
    value.float_value = v;
    return value;
}

GgufValue GgufValue::make_bool(bool v) { return make_uint(GgufValueType::BOOL, v ? 1 : 0); }

GgufValue GgufValue::make_string(std::string v) {
    GgufValue value;
    value.type = GgufValueType::STRING;
    value.string_value = std::move(v);
    return value;
}

GgufValue GgufValue::make_array(GgufValueType item_type, std::vector<GgufValue> items) {
    GgufValue value;
    value.type = GgufValueType::ARRAY;
    value.array_type = item_type;
    value.array = std::move(items);
    return value;
}

}  // namespace uma
