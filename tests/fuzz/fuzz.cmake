# tests/fuzz/fuzz.cmake — how the libFuzzer targets are built (included by the
# top-level CMakeLists before any target exists). SENSORY_FUZZ=ON:
#   - with clang as the compiler ("direct"): everything is compiled with
#     coverage for libFuzzer and ASan+UBSan, and tests/fuzz adds the fuzz_*
#     programs (target fuzz_targets builds them all);
#   - with another compiler ("external", e.g. the release build of
#     tests/run.sh with gcc): this same source tree is configured again with
#     clang under BUILD/fuzz and only fuzz_targets is built there;
#   - without clang or its libFuzzer runtime ("missing"): the fuzz tests are
#     registered all the same and skip themselves (exit 77) saying why.
# The regression replays (fuzz_replay.*) do not depend on any of this: they
# build with every compiler and run in every build.
option(SENSORY_FUZZ "Build the libFuzzer targets with clang and register the fuzz test label" OFF)
set(SENSORY_FUZZ_MODE "off")
set(SENSORY_FUZZ_WHY "")

if(SENSORY_FUZZ)
  if(CMAKE_C_COMPILER_ID STREQUAL "Clang")
    set(SENSORY_CLANG ${CMAKE_C_COMPILER})
  else()
    find_program(SENSORY_CLANG NAMES clang clang-14 clang-15 clang-16)
  endif()
  set(SENSORY_FUZZ_WHY "clang not found (deploy/deps.sh installs clang and libclang-rt-14-dev)")
  if(SENSORY_CLANG)
    # Can this clang link a libFuzzer program? (Debian keeps the runtime in
    # libclang-rt-14-dev, which clang only recommends.)
    set(probe_dir ${CMAKE_BINARY_DIR}/CMakeFiles/fuzz-probe)
    file(MAKE_DIRECTORY ${probe_dir})
    file(WRITE ${probe_dir}/probe.c
         "#include <stddef.h>\n#include <stdint.h>\n"
         "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n")
    execute_process(
      COMMAND ${SENSORY_CLANG} -fsanitize=fuzzer,address,undefined ${probe_dir}/probe.c -o ${probe_dir}/probe
      RESULT_VARIABLE probe_rc OUTPUT_QUIET ERROR_QUIET)
    if(probe_rc EQUAL 0)
      if(CMAKE_C_COMPILER_ID STREQUAL "Clang")
        set(SENSORY_FUZZ_MODE "direct")
      else()
        set(SENSORY_FUZZ_MODE "external")
      endif()
    else()
      set(SENSORY_FUZZ_WHY "${SENSORY_CLANG} cannot link -fsanitize=fuzzer (deploy/deps.sh installs libclang-rt-14-dev)")
    endif()
  endif()
  if(SENSORY_FUZZ_MODE STREQUAL "off")
    set(SENSORY_FUZZ_MODE "missing")
    message(STATUS "fuzz: targets not built, the fuzz tests will skip: ${SENSORY_FUZZ_WHY}")
  else()
    message(STATUS "fuzz: libFuzzer targets with ${SENSORY_CLANG} (${SENSORY_FUZZ_MODE})")
  endif()
endif()

if(SENSORY_FUZZ_MODE STREQUAL "direct")
  # Coverage for libFuzzer in every object; the fuzz_* programs add the
  # libFuzzer runtime itself when they link (tests/fuzz/CMakeLists.txt).
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
  set(SENSORY_FUZZ_BIN_DIR ${CMAKE_BINARY_DIR}/fuzz-bin)
elseif(SENSORY_FUZZ_MODE STREQUAL "external")
  include(ExternalProject)
  set(SENSORY_FUZZ_BIN_DIR ${CMAKE_BINARY_DIR}/fuzz/fuzz-bin)
  if(CMAKE_GENERATOR MATCHES "Makefiles")
    set(fuzz_build_cmd $(MAKE) fuzz_targets) # shares the outer make's -j
  else()
    set(fuzz_build_cmd ${CMAKE_COMMAND} --build <BINARY_DIR> --target fuzz_targets)
  endif()
  # -O1 -g without NDEBUG: fast enough to fuzz, asserts kept, readable traces.
  ExternalProject_Add(sensory_fuzz
    SOURCE_DIR ${CMAKE_SOURCE_DIR}
    BINARY_DIR ${CMAKE_BINARY_DIR}/fuzz
    CMAKE_ARGS -DCMAKE_C_COMPILER=${SENSORY_CLANG} -DSENSORY_FUZZ=ON
               -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g"
               -DSENSORY_WERROR=${SENSORY_WERROR}
    BUILD_COMMAND ${fuzz_build_cmd}
    INSTALL_COMMAND ""
    BUILD_ALWAYS ON
    USES_TERMINAL_BUILD OFF)
endif()
