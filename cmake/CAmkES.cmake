# CAmkES-style build functions for cxvm apps, named like CAmkES's own so an app folder
# reads the same:
#
#   DeclareCAmkESComponent(Client SOURCES client.c [INCLUDES dir...] [C_FLAGS ...] [LIBS ...])
#   DeclareCAmkESComponent(Init0 SOURCES poke_handler.c)     # Init0: a VM type (VM_INIT_DEF)
#   DeclareCAmkESRootserver(hello.camkes [CPP_FLAGS -DX ...] [CPP_INCLUDES dir...])
#   AddToFileServer(name file [DEPENDS ...])
#
# Each declared component type becomes one executable, <app build dir>/<Type>, built
# from its sources plus the glue cxvm-glue generates from the spec at build time
# (camkes.h and camkes_glue.c). `cxvm run APP` starts one process per instance from
# these. The CMake target of a component is <app>_<Type>; the target <app> builds all.
#
# A VM type's executable is cxvm's VM instance main (the VMM, cxvm_vm_instance) plus the
# app's VMM-side sources, which register hypercall handlers through <vmm/vmm.h>
# (docs/crossvm.md). CMake tells VM types from native ones by finding VM_INIT_DEF in the
# type's body in the app's .camkes files; `VM` or `NATIVE` after the type name says it
# explicitly. cxvm-glue checks the choice against the parsed spec.
# The order of the calls in an app's CMakeLists.txt does not matter.
include_guard(GLOBAL)

function(DeclareCAmkESComponent name)
  cmake_parse_arguments(C "VM;NATIVE" "" "SOURCES;INCLUDES;C_FLAGS;LD_FLAGS;LIBS" ${ARGN})
  if(NOT C_SOURCES)
    message(FATAL_ERROR "DeclareCAmkESComponent(${name}): no SOURCES")
  endif()
  if(C_VM AND C_NATIVE)
    message(FATAL_ERROR "DeclareCAmkESComponent(${name}): VM and NATIVE exclude each other")
  endif()
  set_property(DIRECTORY APPEND PROPERTY CXVM_CAMKES_COMPONENTS ${name})
  set(kind "")
  if(C_VM)
    set(kind vm)
  elseif(C_NATIVE)
    set(kind native)
  endif()
  set_property(DIRECTORY PROPERTY CXVM_CAMKES_${name}_KIND "${kind}")
  foreach(key SOURCES INCLUDES C_FLAGS LD_FLAGS LIBS)
    set(abs "")
    foreach(v ${C_${key}})
      if(key STREQUAL "SOURCES" OR key STREQUAL "INCLUDES")
        get_filename_component(v "${v}" ABSOLUTE)
      endif()
      list(APPEND abs "${v}")
    endforeach()
    set_property(DIRECTORY PROPERTY CXVM_CAMKES_${name}_${key} "${abs}")
  endforeach()
endfunction()

function(DeclareCAmkESRootserver adl)
  cmake_parse_arguments(R "" "" "CPP_FLAGS;CPP_INCLUDES" ${ARGN})
  get_filename_component(adl "${adl}" ABSOLUTE)
  set_property(DIRECTORY PROPERTY CXVM_CAMKES_SPEC "${adl}")
  set(args "")
  foreach(f ${R_CPP_FLAGS})
    if(f MATCHES "^-D(.+)$")
      list(APPEND args -D "${CMAKE_MATCH_1}")
    elseif(f MATCHES "^-I(.+)$")
      get_filename_component(d "${CMAKE_MATCH_1}" ABSOLUTE)
      list(APPEND args -I "${d}")
    endif()
  endforeach()
  foreach(d ${R_CPP_INCLUDES})
    get_filename_component(d "${d}" ABSOLUTE)
    list(APPEND args -I "${d}")
  endforeach()
  set_property(DIRECTORY PROPERTY CXVM_CAMKES_GLUE_ARGS "${args}")
  # Components may be declared after the rootserver: build them at the folder's end.
  cmake_language(DEFER CALL _cxvm_camkes_build_app)
endfunction()

# Whether `type` is declared with VM_INIT_DEF() in one of `files` (the build must know
# how to link it before the spec is parsed; cxvm-glue confirms against the spec).
function(_cxvm_camkes_is_vm type files out)
  set(result FALSE)
  foreach(f ${files})
    file(READ ${f} text)
    # Comments may mention VM_INIT_DEF (apps/print_server_native does).
    string(REGEX REPLACE "/\\*([^*]|\\*+[^*/])*\\*+/" " " text "${text}")
    string(REGEX REPLACE "//[^\n]*" " " text "${text}")
    if(text MATCHES "component[ \t\r\n]+${type}[ \t\r\n]*\\{[^}]*VM_INIT_DEF[ \t]*\\(")
      set(result TRUE)
    endif()
  endforeach()
  set(${out} ${result} PARENT_SCOPE)
endfunction()

function(_cxvm_camkes_build_app)
  get_property(spec DIRECTORY PROPERTY CXVM_CAMKES_SPEC)
  get_property(args DIRECTORY PROPERTY CXVM_CAMKES_GLUE_ARGS)
  get_property(components DIRECTORY PROPERTY CXVM_CAMKES_COMPONENTS)
  get_filename_component(app "${CMAKE_CURRENT_SOURCE_DIR}" NAME)
  # The spec and whatever it includes from the app folder.
  file(GLOB_RECURSE spec_deps CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.camkes
       ${CMAKE_CURRENT_SOURCE_DIR}/*.idl4)
  set(targets "")
  foreach(c ${components})
    get_property(kind DIRECTORY PROPERTY CXVM_CAMKES_${c}_KIND)
    if(NOT kind)
      _cxvm_camkes_is_vm(${c} "${spec_deps}" is_vm)
      if(is_vm)
        set(kind vm)
      else()
        set(kind native)
      endif()
    endif()
    set(gen ${CMAKE_CURRENT_BINARY_DIR}/glue/${c})
    add_custom_command(
      OUTPUT ${gen}/camkes.h ${gen}/camkes_glue.c
      COMMAND cxvm-glue --spec ${spec} --type ${c} --kind ${kind}
              --out ${CMAKE_CURRENT_BINARY_DIR}/glue ${args}
      DEPENDS cxvm-glue ${spec} ${spec_deps}
      COMMENT "Generating CAmkES glue for ${app}/${c}"
      VERBATIM)
    get_property(srcs DIRECTORY PROPERTY CXVM_CAMKES_${c}_SOURCES)
    get_property(incs DIRECTORY PROPERTY CXVM_CAMKES_${c}_INCLUDES)
    get_property(cflags DIRECTORY PROPERTY CXVM_CAMKES_${c}_C_FLAGS)
    get_property(ldflags DIRECTORY PROPERTY CXVM_CAMKES_${c}_LD_FLAGS)
    get_property(libs DIRECTORY PROPERTY CXVM_CAMKES_${c}_LIBS)
    set(t ${app}_${c})
    add_executable(${t} ${srcs} ${gen}/camkes_glue.c)
    set_target_properties(${t} PROPERTIES OUTPUT_NAME ${c}
                          RUNTIME_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}
                          C_STANDARD 11 C_EXTENSIONS ON)
    target_include_directories(${t} PRIVATE ${gen} ${incs} ${CMAKE_CURRENT_SOURCE_DIR})
    target_compile_options(${t} PRIVATE -Wall -Wextra ${cflags})
    if(CXVM_WERROR)
      target_compile_options(${t} PRIVATE -Werror)
    endif()
    target_link_options(${t} PRIVATE ${ldflags})
    if(kind STREQUAL "vm")
      # cxvm's VMM is C++: link as C++ even when the app's sources are C.
      target_link_libraries(${t} PRIVATE cxvm_vm_instance ${libs})
      set_target_properties(${t} PROPERTIES LINKER_LANGUAGE CXX)
    else()
      target_link_libraries(${t} PRIVATE cxvm_camkes ${libs})
    endif()
    list(APPEND targets ${t})
  endforeach()
  if(NOT TARGET ${app})
    add_custom_target(${app} ALL)
  endif()
  if(targets)
    add_dependencies(${app} ${targets})
  endif()
  # A VM instance the app has no code for runs as cxvm-vm.
  if(TARGET cxvm-vm)
    add_dependencies(${app} cxvm-vm)
  endif()
endfunction()

# Files a system's components read at run time (CAmkES serves them from its
# FileServer component): copied to <app build dir>/fileserver/<name>.
function(AddToFileServer name file)
  cmake_parse_arguments(F "" "" "DEPENDS" ${ARGN})
  get_filename_component(file "${file}" ABSOLUTE)
  get_filename_component(app "${CMAKE_CURRENT_SOURCE_DIR}" NAME)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/fileserver/${name})
  add_custom_command(OUTPUT ${out}
                     COMMAND ${CMAKE_COMMAND} -E copy ${file} ${out}
                     DEPENDS ${file} ${F_DEPENDS} VERBATIM)
  string(MAKE_C_IDENTIFIER "${app}_fileserver_${name}" t)
  add_custom_target(${t} ALL DEPENDS ${out})
endfunction()
