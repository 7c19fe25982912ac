# CAmkES-style build functions for cxvm apps, named like CAmkES's own so an app folder
# reads the same:
#
#   DeclareCAmkESComponent(Client SOURCES client.c [INCLUDES dir...] [C_FLAGS ...] [LIBS ...])
#   DeclareCAmkESRootserver(hello.camkes [CPP_FLAGS -DX ...] [CPP_INCLUDES dir...])
#   AddToFileServer(name file [DEPENDS ...])
#
# Each declared component type becomes one executable, <app build dir>/<Type>, built
# from its sources plus the glue cxvm-glue generates from the spec at build time
# (camkes.h and camkes_glue.c). `cxvm run APP` starts one process per instance from
# these. The CMake target of a component is <app>_<Type>; the target <app> builds all.
# The order of the calls in an app's CMakeLists.txt does not matter.
include_guard(GLOBAL)

function(DeclareCAmkESComponent name)
  cmake_parse_arguments(C "" "" "SOURCES;INCLUDES;C_FLAGS;LD_FLAGS;LIBS" ${ARGN})
  if(NOT C_SOURCES)
    message(FATAL_ERROR "DeclareCAmkESComponent(${name}): no SOURCES")
  endif()
  set_property(DIRECTORY APPEND PROPERTY CXVM_CAMKES_COMPONENTS ${name})
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
    set(gen ${CMAKE_CURRENT_BINARY_DIR}/glue/${c})
    add_custom_command(
      OUTPUT ${gen}/camkes.h ${gen}/camkes_glue.c
      COMMAND cxvm-glue --spec ${spec} --type ${c} --out ${CMAKE_CURRENT_BINARY_DIR}/glue ${args}
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
    target_link_libraries(${t} PRIVATE cxvm_camkes ${libs})
    list(APPEND targets ${t})
  endforeach()
  if(NOT TARGET ${app})
    add_custom_target(${app} ALL)
  endif()
  if(targets)
    add_dependencies(${app} ${targets})
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
