/**
 * The page's inline style and script. Colours are the Okabe–Ito palette (readable with every common colour-vision
 * deficiency), and nothing is told by colour alone: the first differing token is outlined and marked ▶, re-processed
 * bars are hatched.
 */
export const PAGE_CSS = `
:root{--reused:#0072B2;--redo:#E69F00;--first:#D55E00;--lost:#CC79A7;--ink:#1b1b1b;--dim:#5b5b5b;--line:#d0d0d0;--bg:#fff;--soft:#f4f4f4}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--ink);background:var(--bg);margin:0 auto;padding:1rem 1.5rem 3rem;max-width:110rem}
h1{font-size:1.35rem;margin:.2rem 0 .4rem}h2{font-size:1.1rem;margin:1.4rem 0 .4rem}h3{font-size:.95rem;margin:.2rem 0;overflow-wrap:anywhere}
code,pre,.mono{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,monospace;font-size:13px}
a{color:#005a8c}a:focus-visible,button:focus-visible,summary:focus-visible,.txt:focus-visible{outline:3px solid var(--first);outline-offset:2px}
.sub{color:var(--dim);margin:.1rem 0}.ok{color:#00704a;font-weight:600}.bad{color:var(--first);font-weight:600}
.tag{display:inline-block;border:1px solid var(--line);border-radius:3px;padding:0 .3rem;font-size:12px;background:var(--soft)}
.causes{padding-left:1.2rem}.causes li{margin:.5rem 0}.help{color:#00704a}.help b{color:inherit}
.vals{margin:.2rem 0 .2rem 0;white-space:pre-wrap;overflow-wrap:anywhere}
button{font:inherit;font-size:13px;border:1px solid #888;background:var(--soft);border-radius:4px;padding:.15rem .5rem;cursor:pointer;color:var(--ink)}
.tools{display:flex;gap:1rem;align-items:center;flex-wrap:wrap;margin:.6rem 0}
.prompts{display:grid;grid-template-columns:1fr 1fr;gap:.8rem}
.pane{border:1px solid var(--line);border-radius:4px;min-width:0}
.pane h3{padding:.3rem .5rem;background:var(--soft);border-bottom:1px solid var(--line)}
.txt{margin:0;padding:.5rem;white-space:pre-wrap;overflow-wrap:anywhere;max-height:65vh;overflow:auto}
.ws{color:#8a8a8a}.same{color:var(--dim);font-style:italic}
.show-tokens .t1,.txt:hover .t1{background:rgba(0,114,178,.10)}
.show-tokens .t0,.txt:hover .t0{background:rgba(230,159,0,.10)}
.after{text-decoration:underline dotted var(--redo)}.chg{text-decoration:underline wavy var(--first);background:rgba(204,121,167,.16)}
.first{outline:2px solid var(--first);background:rgba(213,94,0,.18)!important;scroll-margin:40vh}
.first::before{content:"\\25B6";color:var(--first);font-weight:700}
.flash{animation:flash 1.2s 2}@keyframes flash{50%{background:rgba(213,94,0,.35)}}
.fold,.more{display:block;margin:.3rem 0;width:100%;text-align:left;background:#eef4f9;border-style:dashed}
.status{color:var(--dim);font-size:13px;min-height:1.2em}
.json .cols{display:grid;grid-template-columns:1fr 1fr;gap:.8rem}
.json pre{margin:0;padding:.5rem;border:1px solid var(--line);border-radius:4px;white-space:pre-wrap;overflow-wrap:anywhere;max-height:60vh;overflow:auto}
mark{background:rgba(213,94,0,.22);outline:1px solid var(--first);color:inherit}mark.ign{background:rgba(0,114,178,.15);outline-color:var(--reused)}mark.grow{background:rgba(0,158,115,.15);outline:1px dashed #009E73}
.summary{display:flex;gap:2rem;flex-wrap:wrap;margin:.4rem 0}.summary div b{display:block;font-size:1.25rem}
.chart{display:flex;align-items:flex-end;gap:3px;height:240px;padding-top:1.4rem!important;border-bottom:1px solid var(--ink);padding:0 .2rem;overflow-x:auto}
.bar{display:flex;flex-direction:column-reverse;justify-content:flex-start;align-items:stretch;height:100%;min-width:14px;flex:1 1 0;max-width:48px;padding:0;border:0;background:none;border-radius:0;position:relative}
.bar .r{background:var(--reused)}.bar .p{background:repeating-linear-gradient(45deg,var(--redo) 0 4px,#f6d28a 4px 7px)}
.bar.brk::after{content:"\\2715";position:absolute;top:-1.2rem;left:0;right:0;text-align:center;color:var(--first);font-weight:700}
.bar[aria-pressed=true]{outline:3px solid var(--ink);outline-offset:1px}
.axis{display:flex;gap:3px;padding:0 .2rem;font-size:11px;color:var(--dim)}.axis span{flex:1 1 0;min-width:14px;max-width:48px;text-align:center}
.legend span{display:inline-block;width:.9rem;height:.9rem;vertical-align:-.1rem;margin:0 .3rem 0 1rem}
table.steps{border-collapse:collapse;margin:.6rem 0;font-size:13px}table.steps td,table.steps th{border-bottom:1px solid var(--line);padding:.15rem .6rem;text-align:right}table.steps td:nth-child(2),table.steps th:nth-child(2),table.steps td:last-child,table.steps th:last-child{text-align:left}
.stepdiff{border-top:3px solid var(--ink);margin-top:1rem}
footer{color:var(--dim);font-size:12px;margin-top:2rem}
@media (max-width:800px){.prompts,.json .cols{grid-template-columns:1fr}}
@media print{button:not(.bar),.tools,.status{display:none!important}.txt,.json pre{max-height:none;overflow:visible}.stepdiff[hidden]{display:block!important}.first{outline:2px solid #000}.bar .p{print-color-adjust:exact;-webkit-print-color-adjust:exact}.bar .r{print-color-adjust:exact;-webkit-print-color-adjust:exact}body{max-width:none}}
`;

/** The script: draws the visible part of each prompt from the embedded data, folds, expands, follows links. */
export const PAGE_JS = `
(function(){
"use strict";
var CONTEXT_TOKENS=24,TAIL_TOKENS=1500,MORE_TOKENS=5000;
var WS={"\\n":"\\u21B5","\\t":"\\u2192","\\r":"\\u240D"};
function glyph(c){return WS[c]||"\\u237D";}
var ODD=/[\\n\\t\\r\\v\\f\\u00a0\\u2000-\\u200b\\u2028\\u2029\\u3000\\ufeff]/;
function wsSpan(el,glyphs,orig){var w=document.createElement("span");w.className="ws";w.textContent=glyphs;w.setAttribute("data-c",orig);el.appendChild(w);}
function appendVisible(el,s){
  var from=0;
  for(var i=0;i<s.length;i++){
    var c=s.charAt(i);
    if(c===" "){
      // spaces at the end of a line are shown as middle dots (a trimmed line is then visible)
      var j=i;while(j<s.length&&s.charAt(j)===" ")j++;
      if(j<s.length&&(s.charAt(j)==="\\n"||s.charAt(j)==="\\r")){
        if(i>from)el.appendChild(document.createTextNode(s.slice(from,i)));
        wsSpan(el,new Array(j-i+1).join("\\u00B7"),s.slice(i,j));from=j;
      }
      i=j-1;continue;
    }
    if(!ODD.test(c))continue;
    if(i>from)el.appendChild(document.createTextNode(s.slice(from,i)));
    wsSpan(el,glyph(c),c==="\\n"?"":c);
    if(c==="\\n")el.appendChild(document.createTextNode("\\n"));
    from=i+1;
  }
  if(from<s.length)el.appendChild(document.createTextNode(s.slice(from)));
}
function decode(p){
  if(p.first<0)return [];
  var out=[p.first],x=p.first,d=p.d;
  for(var i=0;i<d.length;i++){
    var c=d.charCodeAt(i);
    if(c===65535){var e=d.indexOf(",",i);x+=+d.slice(i+1,e);i=e;}else x+=c-48;
    out.push(x);
  }
  return out;
}
var views={};
function View(root){
  var data=JSON.parse(document.getElementById(root.getAttribute("data-view")).textContent);
  this.root=root;this.d=data;
  var a=data.a,b=data.b;
  var sa=decode(a.starts);
  var sb=sa.slice(0,Math.max(0,data.lcp-data.tok0)).concat(decode(b.starts));
  var ta=a.text,tb=a.text.slice(0,data.shared)+b.text;
  this.sides={
    a:{text:ta,starts:sa,pane:root.querySelector('[data-side="a"] .txt'),lo:0,hi:0,count:sa.length},
    b:{text:tb,starts:sb,pane:root.querySelector('[data-side="b"] .txt'),lo:0,hi:0,count:sb.length}
  };
  this.drawn=false;
}
function overlaps(r,from,to){
  var lo=0,hi=r.length>>1;
  while(lo<hi){var mid=(lo+hi)>>1;if(r[2*mid+1]<=from)lo=mid+1;else hi=mid;}
  return lo<(r.length>>1)&&r[2*lo]<Math.max(to,from+1);
}
View.prototype.span=function(side,k){
  var s=this.sides[side],i=k-this.d.tok0;
  var from=s.starts[i],to=i+1<s.starts.length?s.starts[i+1]:s.text.length;
  var el=document.createElement("span");
  el.className="t"+(k&1)+(k>=this.d.lcp&&this.d.diverges?" after":"")+(k>=this.d.lcp&&overlaps(this.d[side].changed,from,to)?" chg":"");
  el.setAttribute("data-i",k);
  if(k===this.d.lcp&&this.d.diverges){el.className+=" first";el.id="first-"+side+"-"+this.d.id;el.setAttribute("title","first differing token ("+k+")");}
  appendVisible(el,s.text.slice(from,to));
  return el;
};
View.prototype.range=function(side,from,to){
  var f=document.createDocumentFragment();
  for(var k=from;k<to;k++)f.appendChild(this.span(side,k));
  return f;
};
View.prototype.draw=function(){
  if(this.drawn)return;this.drawn=true;
  var d=this.d,self=this;
  var fold=Math.max(d.tok0,d.lcp-CONTEXT_TOKENS);
  ["a","b"].forEach(function(side){
    var s=self.sides[side],pane=s.pane,end=d.tok0+s.count;
    pane.textContent="";
    s.lo=fold;s.hi=Math.min(end,Math.max(fold,d.lcp)+TAIL_TOKENS);
    if(d.base>0){var pre=document.createElement("span");pre.className="sub";pre.textContent="\\u2026 (this page keeps a window of the prompt; run kvdiff on the pair for all of it)\\n";pane.appendChild(pre);}
    if(fold>d.tok0){
      var btn=document.createElement("button");btn.className="fold";btn.type="button";
      btn.textContent="\\u22EF shared prefix: "+(fold-d.tok0).toLocaleString("en-US")+" tokens folded (expand)";
      btn.setAttribute("aria-expanded","false");
      btn.addEventListener("click",function(){self.expandFold();});
      pane.appendChild(btn);
    }
    pane.appendChild(self.range(side,s.lo,s.hi));
    self.moreButton(side);
  });
};
View.prototype.moreButton=function(side){
  var s=this.sides[side],end=this.d.tok0+s.count,self=this;
  var old=s.pane.querySelector(":scope > .more");if(old)old.remove();
  if(s.hi>=end){
    if(this.d[side].cut){var e=document.createElement("span");e.className="sub";e.textContent="\\n\\u2026 (window ends here)";s.pane.appendChild(e);}
    return;
  }
  var btn=document.createElement("button");btn.className="more";btn.type="button";
  btn.textContent="show "+Math.min(MORE_TOKENS,end-s.hi).toLocaleString("en-US")+" more of "+(end-s.hi).toLocaleString("en-US")+" remaining tokens";
  btn.addEventListener("click",function(){self.more(side,s.hi+MORE_TOKENS);});
  s.pane.appendChild(btn);
};
View.prototype.more=function(side,upto){
  var s=this.sides[side],end=this.d.tok0+s.count,to=Math.min(end,upto);
  if(to<=s.hi)return;
  var old=s.pane.querySelector(":scope > .more");
  var f=this.range(side,s.hi,to);
  if(old)s.pane.insertBefore(f,old);else s.pane.appendChild(f);
  s.hi=to;this.moreButton(side);
};
View.prototype.expandFold=function(){
  var self=this;
  ["a","b"].forEach(function(side){
    var s=self.sides[side],btn=s.pane.querySelector(":scope > .fold");
    if(!btn)return;
    var f=self.range(side,self.d.tok0,s.lo);
    btn.replaceWith(f);s.lo=self.d.tok0;
  });
  this.sides.a.pane.focus();
};
View.prototype.go=function(k){
  this.draw();
  var self=this,target=null;
  ["b","a"].forEach(function(side){
    var s=self.sides[side],end=self.d.tok0+s.count,t=Math.min(k,end-1);
    if(t<self.d.tok0)return;
    if(t<s.lo)self.expandFold();
    if(t>=s.hi)self.more(side,t+200);
    var el=s.pane.querySelector('[data-i="'+t+'"]');
    if(el){el.classList.remove("flash");void el.offsetWidth;el.classList.add("flash");target=target||el;}
  });
  if(target)target.scrollIntoView({block:"center"});
};
View.prototype.showFirst=function(){
  this.draw();
  var el=document.getElementById("first-b-"+this.d.id)||document.getElementById("first-a-"+this.d.id);
  if(el)el.scrollIntoView({block:"center"});
  else this.sides.b.pane.scrollTop=this.sides.b.pane.scrollHeight;
};
function view(el){var root=el.closest("[data-view]");if(!root)return null;var id=root.getAttribute("data-view");return views[id]||(views[id]=new View(root));}
document.addEventListener("click",function(e){
  var t=e.target.closest&&e.target.closest("[data-token],[data-json],[data-step],[data-toggle]");
  if(!t)return;
  if(t.hasAttribute("data-token")){e.preventDefault();var v=view(t);if(v)v.go(+t.getAttribute("data-token"));}
  else if(t.hasAttribute("data-json")){var m=document.getElementById(t.getAttribute("data-json"));if(m){var det=m.closest("details");if(det)det.open=true;e.preventDefault();m.scrollIntoView({block:"center"});m.focus();}}
  else if(t.hasAttribute("data-step")){openStep(+t.getAttribute("data-step"));}
});
document.addEventListener("change",function(e){
  var t=e.target;if(!t.hasAttribute||!t.hasAttribute("data-toggle"))return;
  var root=t.closest("[data-view]");root.classList.toggle("show-tokens",t.checked);
});
document.addEventListener("mouseover",function(e){
  var sp=e.target.closest&&e.target.closest("[data-i]");if(!sp)return;
  var root=sp.closest("[data-view]"),st=root&&root.querySelector(".status");if(!st)return;
  var side=sp.closest("[data-side]").getAttribute("data-side").toUpperCase();
  st.textContent=side+" token "+(+sp.getAttribute("data-i")).toLocaleString("en-US")+": "+JSON.stringify(sp.textContent.replace(/\\u21B5\\n/g,"\\n").replace(/^\\u25B6/,""));
});
function openStep(n){
  var bars=document.querySelectorAll(".bar");
  for(var i=0;i<bars.length;i++)bars[i].setAttribute("aria-pressed",String(+bars[i].getAttribute("data-step")===n));
  var secs=document.querySelectorAll(".stepdiff");
  for(var j=0;j<secs.length;j++)secs[j].hidden=secs[j].id!=="step-"+n;
  var sec=document.getElementById("step-"+n);if(!sec)return;
  var v=view(sec.querySelector("[data-view]"));
  sec.scrollIntoView({block:"start"});
  if(v)v.showFirst();
  if(history.replaceState)history.replaceState(null,"","#step-"+n);
}
document.addEventListener("keydown",function(e){
  var t=e.target;
  if(t.classList&&t.classList.contains("bar")&&(e.key==="ArrowRight"||e.key==="ArrowLeft")){
    var sib=e.key==="ArrowRight"?t.nextElementSibling:t.previousElementSibling;
    if(sib){sib.focus();e.preventDefault();}
  }
});
window.addEventListener("beforeprint",function(){
  var ds=document.querySelectorAll("details");for(var i=0;i<ds.length;i++)ds[i].open=true;
  var vs=document.querySelectorAll("[data-view]");for(var j=0;j<vs.length;j++){var v=view(vs[j]);if(v)v.draw();}
});
var main=document.querySelector("[data-main]");
if(main){var v=view(main);if(v)v.showFirst();}
var m=/^#step-(\\d+)$/.exec(location.hash);
if(m)openStep(+m[1]);
})();
`;
