// Stand-in for std::ios_base_library_init(), which GCC 13's libstdc++ (GLIBCXX_3.4.32) exports and older ones
// lack. TorchSharp 0.107's libLibTorchSharp.so references it only so that GCC 13 runs the iostream initialiser;
// including <iostream> here makes this library run the same initialiser, so an empty body is all it needs.
#include <iostream>

namespace std {
__attribute__((visibility("default"))) void ios_base_library_init() {}
}
