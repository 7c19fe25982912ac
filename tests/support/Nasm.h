#pragma once
// Test support shared by the CPU and VMM tests: guest code assembled with NASM at test
// time (`nasm -f bin`), so a test's source is readable assembly, not byte arrays.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>
#include <vector>

namespace cxvm::testing {

// Assembles `source` with nasm -f bin; fails the test on error.
inline std::vector<std::uint8_t> assemble(const std::string& source, unsigned bits = 32,
                                          std::uint32_t org = 0x1000) {
    char dir[] = "/tmp/cxvm-asm-XXXXXX";
    if (!mkdtemp(dir)) return {};
    const std::string in = std::string(dir) + "/t.asm", out = std::string(dir) + "/t.bin";
    {
        std::ofstream f(in);
        f << "bits " << bits << "\norg " << org << "\n" << source << "\n";
    }
    const std::string cmd = "nasm -f bin -o " + out + " " + in + " 2>&1";
    std::string msg;
    if (FILE* p = popen(cmd.c_str(), "r")) {
        char buf[512];
        while (fgets(buf, sizeof buf, p)) msg += buf;
        if (pclose(p) != 0) ADD_FAILURE() << "nasm failed:\n" << msg << "\nsource:\n" << source;
    }
    std::ifstream f(out, std::ios::binary);
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(f)), {});
    std::remove(in.c_str());
    std::remove(out.c_str());
    rmdir(dir);
    return bytes;
}

}  // namespace cxvm::testing
