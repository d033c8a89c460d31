// json.cpp asserts through ggml_abort; the driver does not link ggml, so abort here.
#include <cstdio>
#include <cstdlib>
extern "C" void ggml_abort(const char * file, int line, const char *, ...) {
    std::fprintf(stderr, "jinja-oracle: assertion failed at %s:%d\n", file, line);
    std::abort();
}
