// Tessera's passkey pages: a form marked data-passkey="authenticate" or "register" is shown when
// the browser supports WebAuthn. Submitting it takes the ceremony's options from the page
// (data-options-json) or asks Tessera (same origin, data-options) for them, runs the ceremony with @simplewebauthn/browser (served beside this file), puts the
// credential's JSON in the form's "credential" field and submits the form as usual: Tessera
// answers with a page or a redirect, exactly as for the password form, which needs no script.
// The messages are the page's, in its language (data-msg-* on the form, views/passkey-messages.eta).
(() => {
  const webauthn = window.SimpleWebAuthnBrowser;
  if (!webauthn?.browserSupportsWebAuthn()) return;
  for (const form of document.querySelectorAll('form[data-passkey]')) {
    const failure = form.querySelector('[data-passkey-error]');
    const show = (message) => {
      if (!failure) return;
      failure.textContent = message;
      failure.hidden = false;
    };
    form.hidden = false;
    form.addEventListener('submit', async (event) => {
      if (form.dataset.ready === 'yes') return;
      event.preventDefault();
      const button = form.querySelector('button[type="submit"]');
      if (button) button.disabled = true;
      try {
        // The options are in the page (a second factor) or asked for now (sign-in, registration).
        let optionsJSON;
        if (form.dataset.optionsJson) {
          optionsJSON = JSON.parse(form.dataset.optionsJson);
        } else {
          const body = new URLSearchParams({ csrf: form.elements.csrf.value });
          const answer = await fetch(form.dataset.options, { method: 'POST', body, credentials: 'same-origin' });
          if (!answer.ok) {
            // The JSON's error_description is for developers; the person reads the page's words.
            show(form.dataset.msgUnavailable);
            return;
          }
          optionsJSON = await answer.json();
        }
        const credential =
          form.dataset.passkey === 'register'
            ? await webauthn.startRegistration({ optionsJSON })
            : await webauthn.startAuthentication({ optionsJSON });
        form.elements.credential.value = JSON.stringify(credential);
        form.dataset.ready = 'yes';
        form.submit();
      } catch (err) {
        show(err && err.name === 'NotAllowedError' ? form.dataset.msgCancelled : form.dataset.msgFailed);
      } finally {
        if (button) button.disabled = false;
      }
    });
  }
})();
