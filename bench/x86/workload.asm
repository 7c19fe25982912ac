; CPU-bound 32-bit workload for bench_x86: the same instructions run natively (ELF,
; -DNATIVE, exit code = result & 0xFF) and in the emulator (flat binary at 0x1000, HLT
; with the result in EAX). Mix: LCG fill (MUL, stores), bitwise CRC-32 (shifts, XOR,
; data-dependent branches), a call-heavy checksum, a string copy (REP MOVSD), and a
; multiply-accumulate with its variables spilled to the stack frame, as compiled C under
; register pressure runs (the shape of the kernel's generic MPI code).
bits 32
%ifdef NATIVE
section .bss
buf:  resb 65536
buf2: resb 65536
section .text
global _start
_start:
%else
org 0x1000
%define buf  0x100000
%define buf2 0x200000
%endif
%ifndef ROUNDS
%define ROUNDS 40
%endif
    mov ebp, ROUNDS
    xor edi, edi                ; running result
.round:
    ; LCG fill: 16384 dwords
    mov eax, ebp
    mov esi, buf
    mov ecx, 16384
.fill:
    imul eax, eax, 1103515245
    add eax, 12345
    mov [esi], eax
    add esi, 4
    dec ecx
    jnz .fill
    ; bitwise CRC-32 over 8 KiB
    mov esi, buf
    mov ecx, 8192
    mov eax, 0xFFFFFFFF
.crc_byte:
    movzx edx, byte [esi]
    xor eax, edx
    mov ebx, 8
.crc_bit:
    shr eax, 1
    jnc .nox
    xor eax, 0xEDB88320
.nox:
    dec ebx
    jnz .crc_bit
    inc esi
    dec ecx
    jnz .crc_byte
    not eax
    add edi, eax
    ; call-heavy checksum over 16 KiB (4096 calls)
    mov esi, buf
    mov ecx, 4096
.sum:
    push ecx
    call mix
    pop ecx
    add esi, 4
    loop .sum
    ; copy 64 KiB with REP MOVSD, then compare a few words
    push edi
    mov esi, buf
    mov edi, buf2
    mov ecx, 16384
    cld
    rep movsd
    pop edi
    add edi, [buf2 + 1000]
    ; stack-spilled multiply-accumulate over 16 KiB
    push ebp
    mov ebp, esp
    sub esp, 32
    mov dword [ebp-4], 4096     ; count
    mov dword [ebp-8], buf      ; pointer
    mov dword [ebp-12], 0       ; carry
.mac:
    mov eax, [ebp-8]
    mov edx, [eax]
    movzx ecx, dx
    shr edx, 16
    mov eax, ecx
    imul eax, ecx
    imul edx, ecx
    mov [ebp-16], eax
    mov [ebp-20], edx
    mov eax, [ebp-12]
    add eax, [ebp-16]
    mov ecx, [ebp-20]
    adc ecx, 0
    mov [ebp-12], ecx
    mov ecx, [ebp-8]
    add [ecx], eax
    add dword [ebp-8], 4
    dec dword [ebp-4]
    jnz .mac
    add edi, [ebp-12]
    mov esp, ebp
    pop ebp
    dec ebp
    jnz .round
    mov eax, edi
%ifdef NATIVE
    mov ebx, eax
    and ebx, 0xFF
    mov eax, 1                  ; exit(result & 0xFF)
    int 0x80
%else
    hlt
%endif

mix:                            ; edi = rotl(edi, 5) ^ [esi] + 0x9E3779B9
    mov eax, [esi]
    rol edi, 5
    xor edi, eax
    add edi, 0x9E3779B9
    ret
