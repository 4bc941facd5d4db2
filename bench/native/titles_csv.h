// The title column of a taxonomy CSV (data/occ1990dd.csv, data/soc2018.csv): header row with a
// `title` field, RFC 4180 quoting (quoted fields may hold commas, doubled quotes and line breaks).
#pragma once
#include <string>
#include <vector>

namespace labor_bench {

// Throws std::runtime_error naming the file, the line and the field on malformed input.
std::vector<std::string> read_titles_csv(const std::string &path, const std::string &column = "title");

// Splits CSV text into records of fields; `first_lines` receives each record's first line (1-based).
std::vector<std::vector<std::string>> parse_csv(const std::string &text, const std::string &file,
                                                std::vector<int> *first_lines = nullptr);

}  // namespace labor_bench
