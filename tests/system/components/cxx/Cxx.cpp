// A C++ component using what C++ programs take for granted, all inside the sandbox:
// threads, iostreams, exceptions, locks, sleeping, the heap, random numbers.
#include <camkes.h>

#include <chrono>
#include <iostream>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

int run(void) {
    std::mutex m;
    std::vector<int> seen;
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i)
        threads.emplace_back([&, i] {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            std::lock_guard<std::mutex> g(m);
            seen.push_back(i);
        });
    for (auto& t : threads) t.join();
    std::string caught;
    try {
        throw std::runtime_error("thrown and caught");
    } catch (const std::exception& e) {
        caught = e.what();
    }
    std::random_device rd;
    unsigned r = rd();
    (void)r;
    std::cout << get_instance_name() << ": threads=" << seen.size() << " exception=" << caught
              << std::endl;
    return 0;
}
