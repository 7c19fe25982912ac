# Common settings for every target built from cxvm's own code.
set(CXVM_ROOT ${CMAKE_CURRENT_LIST_DIR}/..)

function(cxvm_setup_target tgt)
  target_compile_options(${tgt} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
    -Wnon-virtual-dtor -Wcast-align -Wunused -Woverloaded-virtual
    -Wimplicit-fallthrough)
  if(CXVM_WERROR)
    target_compile_options(${tgt} PRIVATE -Werror)
  endif()
  if(CXVM_SANITIZE)
    target_compile_options(${tgt} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer)
    target_link_options(${tgt} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

# cxvm_layer(name DEPS ...): a static library of every .cpp in the current folder.
# Globbing keeps layers independent: adding a file never touches a shared CMake file.
function(cxvm_layer name)
  cmake_parse_arguments(L "" "" "DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp
                                   ${CMAKE_CURRENT_SOURCE_DIR}/*/*.cpp)
  if(NOT srcs)
    add_library(cxvm_${name} INTERFACE)
    target_include_directories(cxvm_${name} INTERFACE ${CXVM_ROOT}/src)
    target_link_libraries(cxvm_${name} INTERFACE ${L_DEPS} fmt::fmt)
    return()
  endif()
  add_library(cxvm_${name} STATIC ${srcs})
  target_include_directories(cxvm_${name} PUBLIC ${CXVM_ROOT}/src)
  target_link_libraries(cxvm_${name} PUBLIC ${L_DEPS} fmt::fmt)
  cxvm_setup_target(cxvm_${name})
endfunction()

# cxvm_test(name DEPS ...): one GoogleTest binary of every .cpp in the current folder.
function(cxvm_test name)
  cmake_parse_arguments(T "" "" "DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  if(NOT srcs)
    return()
  endif()
  add_executable(test_${name} ${srcs})
  target_link_libraries(test_${name} PRIVATE ${T_DEPS} GTest::gtest_main GTest::gmock)
  target_compile_definitions(test_${name} PRIVATE
    CXVM_SOURCE_DIR="${CXVM_ROOT}" CXVM_BINARY_DIR="${CMAKE_BINARY_DIR}")
  cxvm_setup_target(test_${name})
  gtest_discover_tests(test_${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS ${name})
endfunction()
