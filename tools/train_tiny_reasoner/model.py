#!/usr/bin/env python3
"""Qwen2 decoder exactly as llama.cpp's `qwen2` architecture computes it (see shared/reference/reference_forward.py):
embedding lookup (no scaling) -> per layer: RMSNorm -> q/k/v Linear with bias -> NeoX RoPE (rotate halves,
theta_i = pos * base^(-2i/head_dim)) -> causal GQA softmax(q k^T / sqrt(head_dim)) v -> o Linear (no bias) ->
residual -> RMSNorm -> SwiGLU (down(silu(gate(x)) * up(x))) -> residual; final RMSNorm -> output Linear (untied).
RMSNorm: x / sqrt(mean(x^2) + eps) * w.
"""
import math
from dataclasses import dataclass, asdict

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    n_vocab: int = 512
    n_embd: int = 128
    n_layer: int = 4
    n_head: int = 4
    n_head_kv: int = 2
    n_ff: int = 384
    rope_theta: float = 10000.0
    rms_eps: float = 1e-6
    n_ctx: int = 512
    tie_output: bool = False

    @property
    def head_dim(self):
        return self.n_embd // self.n_head


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(cfg, n, device=None):
    D = cfg.head_dim
    half = D // 2
    inv = cfg.rope_theta ** (-2.0 * torch.arange(half, dtype=torch.float64) / D)
    ang = torch.arange(n, dtype=torch.float64)[:, None] * inv[None, :]
    return torch.cos(ang).float().to(device), torch.sin(ang).float().to(device)


def apply_rope(x, cos, sin):
    """x: (B, H, T, D); NeoX style: pairs (i, i + D/2)."""
    half = x.shape[-1] // 2
    x0, x1 = x[..., :half], x[..., half:]
    return torch.cat([x0 * cos - x1 * sin, x0 * sin + x1 * cos], dim=-1)


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        D = cfg.head_dim
        self.attn_norm = RMSNorm(cfg.n_embd, cfg.rms_eps)
        self.q = nn.Linear(cfg.n_embd, cfg.n_head * D, bias=True)
        self.k = nn.Linear(cfg.n_embd, cfg.n_head_kv * D, bias=True)
        self.v = nn.Linear(cfg.n_embd, cfg.n_head_kv * D, bias=True)
        self.o = nn.Linear(cfg.n_head * D, cfg.n_embd, bias=False)
        self.ffn_norm = RMSNorm(cfg.n_embd, cfg.rms_eps)
        self.gate = nn.Linear(cfg.n_embd, cfg.n_ff, bias=False)
        self.up = nn.Linear(cfg.n_embd, cfg.n_ff, bias=False)
        self.down = nn.Linear(cfg.n_ff, cfg.n_embd, bias=False)

    def forward(self, x, cos, sin, cache=None):
        """x: (B, T, C). cos/sin: (T, D/2) for the positions of x. cache: dict with 'k','v' (B,Hkv,S,D) or None."""
        cfg = self.cfg
        B, T, _ = x.shape
        D, H, Hkv = cfg.head_dim, cfg.n_head, cfg.n_head_kv
        h = self.attn_norm(x)
        q = self.q(h).view(B, T, H, D).transpose(1, 2)
        k = self.k(h).view(B, T, Hkv, D).transpose(1, 2)
        v = self.v(h).view(B, T, Hkv, D).transpose(1, 2)
        q = apply_rope(q, cos, sin)
        k = apply_rope(k, cos, sin)
        if cache is not None:
            if "k" in cache:
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        rep = H // Hkv
        kk = k.repeat_interleave(rep, dim=1)   # query head j uses kv head j // rep
        vv = v.repeat_interleave(rep, dim=1)
        S = kk.shape[2]
        att = (q @ kk.transpose(-1, -2)) * (1.0 / math.sqrt(D))      # (B, H, T, S)
        if T > 1:   # causal: query t (absolute position S-T+t) sees keys 0..S-T+t
            mask = torch.ones(T, S, dtype=torch.bool, device=x.device).tril(S - T)
            att = att.masked_fill(~mask, float("-inf"))
        a = torch.softmax(att, dim=-1) @ vv
        a = a.transpose(1, 2).reshape(B, T, H * D)
        x = x + self.o(a)
        h = self.ffn_norm(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Qwen2(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.n_vocab, cfg.n_embd)
        self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layer)])
        self.norm = RMSNorm(cfg.n_embd, cfg.rms_eps)
        self.out = None if cfg.tie_output else nn.Linear(cfg.n_embd, cfg.n_vocab, bias=False)
        cos, sin = rope_tables(cfg, cfg.n_ctx)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        self.apply(self._init)
        for b in self.blocks:
            nn.init.normal_(b.o.weight, std=0.02 / math.sqrt(2 * cfg.n_layer))
            nn.init.normal_(b.down.weight, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)

    def forward(self, ids, pos0=0, caches=None):
        T = ids.shape[1]
        x = self.embed(ids)
        cos, sin = self.cos[pos0:pos0 + T], self.sin[pos0:pos0 + T]
        for i, b in enumerate(self.blocks):
            x = b(x, cos, sin, None if caches is None else caches[i])
        x = self.norm(x)
        return x @ self.embed.weight.t() if self.out is None else self.out(x)

    def n_params(self):
        return sum(p.numel() for p in self.parameters())


def config_from_dict(d):
    return Config(**d)


def config_to_dict(cfg):
    return asdict(cfg)
