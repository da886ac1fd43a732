// Including the library and using none of it: should cost next to no code.
#include <asiolite.hpp>

int main() {}
