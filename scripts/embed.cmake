# cmake -DIN=file -DOUT=file.c -DNAME=symbol -P scripts/embed.cmake
# Writes OUT defining `const unsigned char NAME[]` (the bytes of IN, plus a NUL) and
# `const size_t NAME_len` (without the NUL). Used for the dashboard page
# (client/admin/web/dashboard.html), so the binary needs no files at run time.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" body "${body}")
file(WRITE "${OUT}" "/* generated from ${IN} by scripts/embed.cmake: do not edit */\n#include <stddef.h>\nextern const unsigned char ${NAME}[];\nextern const size_t ${NAME}_len;\nconst unsigned char ${NAME}[] = {\n${body}0x00};\nconst size_t ${NAME}_len = ${len};\n")
