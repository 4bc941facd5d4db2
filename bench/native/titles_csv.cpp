#include "titles_csv.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace labor_bench {

std::vector<std::vector<std::string>> parse_csv(const std::string &text, const std::string &file,
                                                std::vector<int> *first_lines) {
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> row;
    std::string field;
    size_t i = 0;
    // A UTF-8 byte-order mark is not part of the first field name.
    if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) i = 3;
    int line = 1, row_line = 1;
    bool quoted = false, after_quote = false, field_started = false;
    auto end_field = [&] {
        row.push_back(field);
        field.clear();
        quoted = after_quote = field_started = false;
    };
    auto end_row = [&] {
        end_field();
        // Blank lines are skipped, as csv-parse's skip_empty_lines does for the TypeScript reader.
        if (!(row.size() == 1 && row[0].empty())) {
            rows.push_back(row);
            if (first_lines) first_lines->push_back(row_line);
        }
        row.clear();
    };
    for (; i < text.size(); ++i) {
        const char c = text[i];
        if (quoted) {
            if (c == '"') {
                if (i + 1 < text.size() && text[i + 1] == '"') {
                    field += '"';
                    ++i;
                } else {
                    quoted = false;
                    after_quote = true;
                }
            } else {
                if (c == '\n') ++line;
                field += c;
            }
            continue;
        }
        if (c == ',') {
            end_field();
        } else if (c == '\n' || c == '\r') {
            if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
            end_row();
            ++line;
            row_line = line;
        } else if (c == '"') {
            if (field_started)
                throw std::runtime_error(file + ":" + std::to_string(line) + ": field " + std::to_string(row.size() + 1) +
                                         ": a quote inside an unquoted field");
            quoted = true;
            field_started = true;
        } else {
            if (after_quote)
                throw std::runtime_error(file + ":" + std::to_string(line) + ": field " + std::to_string(row.size() + 1) +
                                         ": text after a closing quote");
            field += c;
            field_started = true;
        }
    }
    if (quoted)
        throw std::runtime_error(file + ":" + std::to_string(row_line) + ": field " + std::to_string(row.size() + 1) +
                                 ": quoted field is never closed");
    if (field_started || !row.empty()) end_row();
    return rows;
}

std::vector<std::string> read_titles_csv(const std::string &path, const std::string &column) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(path + ": cannot open the taxonomy file");
    std::stringstream ss;
    ss << in.rdbuf();
    std::vector<int> lines;
    const auto rows = parse_csv(ss.str(), path, &lines);
    if (rows.empty()) throw std::runtime_error(path + ":1: the file is empty (expected a header with a \"" + column + "\" field)");
    size_t col = rows[0].size();
    for (size_t c = 0; c < rows[0].size(); ++c)
        if (rows[0][c] == column) col = c;
    if (col == rows[0].size()) throw std::runtime_error(path + ":1: the header has no \"" + column + "\" field");
    std::vector<std::string> titles;
    for (size_t r = 1; r < rows.size(); ++r) {
        const std::string where = path + ":" + std::to_string(lines[r]) + ": field " + column;
        if (rows[r].size() != rows[0].size())
            throw std::runtime_error(where + ": the record has " + std::to_string(rows[r].size()) + " fields, the header " +
                                     std::to_string(rows[0].size()));
        if (rows[r][col].empty()) throw std::runtime_error(where + ": empty title");
        titles.push_back(rows[r][col]);
    }
    if (titles.empty()) throw std::runtime_error(path + ": no titles after the header");
    return titles;
}

}  // namespace labor_bench
