// kvdiff's driver for llama.cpp's Jinja engine (a local test oracle, never shipped): reads a JSON array of
// {"template": string, "vars": object} from stdin and writes a JSON array of {"out": string} or {"error": string},
// rendering each as llama.cpp's engine does (lexer, parser, runtime, `{{ }}` output gathered as the server does).
#include "json.h"
#include "jinja/lexer.h"
#include "jinja/parser.h"
#include "jinja/runtime.h"

#include <iostream>
#include <sstream>

int main() {
    std::stringstream input;
    input << std::cin.rdbuf();
    const common_json cases = common_json::parse(input.str());
    common_json results = common_json::array();
    for (size_t i = 0; i < cases.size(); i++) {
        const auto & c = cases.at(i);
        const std::string tmpl = c.at("template").get<std::string>();
        common_json result = common_json::object();
        try {
            jinja::lexer lexer;
            auto tokens = lexer.tokenize(tmpl);
            jinja::program program = jinja::parse_from_tokens(tokens);
            jinja::context ctx(tmpl);
            jinja::global_from_json(ctx, c.at("vars"), true);
            jinja::runtime runtime(ctx);
            const jinja::value value = runtime.execute(program);
            std::string out;
            for (const auto & part : runtime.gather_string_parts(value)->as_string().parts) out += part.val;
            result["out"] = out;
        } catch (const std::exception & e) {
            result["error"] = std::string(e.what());
        }
        results.push_back(result);
    }
    std::cout << results.dump() << std::endl;
}
