# Finds noggin's dependencies from the system (Debian packages); nothing is downloaded.
# Used by our own build and by the installed package config.

# Debian's xsimd CMake target links a nonexistent `xtl` library (`cannot find -lxtl`); xsimd itself
# needs nothing from it, so an empty imported target satisfies the reference.
if(NOT TARGET xtl)
  add_library(xtl INTERFACE IMPORTED)
endif()
find_package(xsimd REQUIRED)

if(NOGGIN_VULKAN AND NOT TARGET noggin_vulkan_headers)
  # Headers only: the Vulkan loader is opened at run time, never linked.
  find_package(Vulkan REQUIRED)
  add_library(noggin_vulkan_headers INTERFACE IMPORTED)
  set_target_properties(noggin_vulkan_headers PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${Vulkan_INCLUDE_DIRS}"
    INTERFACE_COMPILE_DEFINITIONS "VK_NO_PROTOTYPES;VULKAN_HPP_NO_EXCEPTIONS;VULKAN_HPP_DISPATCH_LOADER_DYNAMIC=1")
endif()
