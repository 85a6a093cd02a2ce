# The Debian packages, built by `cpack` in the build directory (docs/operations.md#the-package):
#   homelab-planner_<version>_<arch>.deb      planner-run, planner-ctl, the systemd unit, the
#                                              configuration (a conffile), the docs, the user
#   homelab-planner-dev_<version>_<arch>.deb  headers, libplanner.a and the CMake package
# Included by the top-level CMakeLists.txt only when this is the top-level project and
# PLANNER_INSTALL is on. Every install() rule names its component (runtime or dev); the files
# below that only make sense on a Debian system (absolute /etc and /lib paths) are
# EXCLUDE_FROM_ALL, so `cmake --install build --prefix DIR` never writes outside DIR.

set(PLANNER_PACKAGE_NAME homelab-planner)
set(PLANNER_PACKAGE_DOCDIR ${CMAKE_INSTALL_DATAROOTDIR}/doc/${PLANNER_PACKAGE_NAME})

# --- what the runtime package holds beyond the programs --------------------------------------
install(FILES ${PROJECT_SOURCE_DIR}/examples/systemd/planner.service
    DESTINATION /lib/systemd/system RENAME ${PLANNER_PACKAGE_NAME}.service
    COMPONENT runtime EXCLUDE_FROM_ALL)
# The unit points PLANNER_CONFIG here. A conffile (cmake/debian/conffiles): dpkg keeps the
# operator's edits across upgrades and asks before replacing them.
install(FILES ${PROJECT_SOURCE_DIR}/examples/planner.yaml
    DESTINATION /etc/${PLANNER_PACKAGE_NAME}
    COMPONENT runtime EXCLUDE_FROM_ALL)
# Debian wants the licence as the doc directory's `copyright`; the unit's Documentation= points
# at running.md here.
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE
    DESTINATION ${PLANNER_PACKAGE_DOCDIR} RENAME copyright
    COMPONENT runtime EXCLUDE_FROM_ALL)
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE
    DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${PLANNER_PACKAGE_NAME}-dev RENAME copyright
    COMPONENT dev EXCLUDE_FROM_ALL)
file(GLOB PLANNER_DOC_PAGES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PLANNER_DOC_PAGES}
    ${PROJECT_SOURCE_DIR}/docs/planner.schema.json
    DESTINATION ${PLANNER_PACKAGE_DOCDIR}
    COMPONENT runtime EXCLUDE_FROM_ALL)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/examples
    DESTINATION ${PLANNER_PACKAGE_DOCDIR}
    COMPONENT runtime EXCLUDE_FROM_ALL)

# --- CPack ----------------------------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ${PLANNER_PACKAGE_NAME})
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "The homelab-planner authors")
set(CPACK_PACKAGE_CONTACT "homelab-planner maintainers <homelab-planner@example.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/packages)
# The programs without their debug information (a RelWithDebInfo build's are ~45 MB each).
# install() strips executables only: libplanner.a in the -dev package keeps its symbols.
set(CPACK_STRIP_FILES ON)

set(CPACK_COMPONENTS_ALL runtime dev)
set(CPACK_DEB_COMPONENT_INSTALL ON)
# <name>_<version>_<arch>.deb, Debian's own naming.
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "${PROJECT_HOMEPAGE_URL}")
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Maintainer scripts 0755 and the control files 0644, whatever the checkout's modes are.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME ${PLANNER_PACKAGE_NAME})
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION admin)
# CPack puts CPACK_PACKAGE_DESCRIPTION_SUMMARY (the project's description) first, as the summary
# line of both packages; these are the extended descriptions.
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION "planner-run subscribes to health events on Redis, asks a chain of
models (Ollama, OpenAI-compatible, Anthropic, offline rules) for a
remediation, enforces the house rules and writes each proposal as a file for
a human to approve with planner-ctl. Ships the systemd unit
homelab-planner.service (not enabled) and its configuration in
/etc/homelab-planner.")
# The shared libraries the programs link (hiredis, yaml-cpp, fmt, libsystemd, cpp-httplib,
# libcurl, libcrypto, ...) from dpkg-shlibdeps; adduser for the maintainer scripts.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/cmake/debian/conffiles
    ${PROJECT_SOURCE_DIR}/cmake/debian/postinst
    ${PROJECT_SOURCE_DIR}/cmake/debian/prerm
    ${PROJECT_SOURCE_DIR}/cmake/debian/postrm)

set(CPACK_DEBIAN_DEV_PACKAGE_NAME ${PLANNER_PACKAGE_NAME}-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_DESCRIPTION "Development files: the headers, the static library libplanner.a and the CMake
package. find_package(planner) gives planner::core (the header-only decision
logic, nlohmann/json only) and planner::planner (the compiled agent, model
chain, Redis intake and sinks).")
# libplanner.a is static: whoever links it needs the -dev packages of what it links privately,
# which plannerConfig.cmake finds with find_dependency (libcurl-dev is the virtual package of
# Debian's three libcurl builds).
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
    "nlohmann-json3-dev (>= 3.10), libhiredis-dev, libyaml-cpp-dev, libsimdjson-dev, pkg-config, libcurl4-openssl-dev | libcurl-dev, libssl-dev")

include(CPack)
